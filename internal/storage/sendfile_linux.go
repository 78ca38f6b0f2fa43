package storage

import (
	"io"
	"net"
	"os"
	"syscall"
)

// sendfileTo sends size bytes of f at pos to a TCP or Unix socket with
// sendfile(2) and an explicit file offset, so the file's shared offset is
// never used and concurrent readers of f need no coordination. handled is
// false when w is not such a socket (nothing was written then).
func sendfileTo(w io.Writer, f *os.File, pos, size int64) (written int64, handled bool, err error) {
	var conn syscall.Conn
	switch c := w.(type) {
	case *net.TCPConn:
		conn = c
	case *net.UnixConn:
		conn = c
	default:
		return 0, false, nil
	}
	dst, err := conn.SyscallConn()
	if err != nil {
		return 0, false, nil
	}
	src, err := f.SyscallConn()
	if err != nil {
		return 0, false, nil
	}
	sendfileHook()
	var serr error
	ran := false
	cerr := src.Control(func(sfd uintptr) {
		ran = true
		// Write waits for the socket to be writable whenever the callback
		// returns false, honouring the connection's write deadline.
		werr := dst.Write(func(dfd uintptr) bool {
			for written < size {
				off := pos + written
				n, err := syscall.Sendfile(int(dfd), int(sfd), &off, int(min(size-written, 1<<30)))
				if n > 0 {
					written += int64(n)
				}
				switch {
				case err == syscall.EINTR:
					continue
				case err == syscall.EAGAIN:
					return false
				case err != nil:
					serr = os.NewSyscallError("sendfile", err)
					return true
				case n == 0:
					serr = io.ErrUnexpectedEOF // the file is shorter than the result
					return true
				}
			}
			return true
		})
		if serr == nil {
			serr = werr
		}
	})
	if !ran && cerr != nil {
		// Control refuses only a file closed (evicted) meanwhile; nothing
		// was sent, and WriteTo retries with the file reopened.
		return 0, true, &os.PathError{Op: "sendfile", Path: f.Name(), Err: os.ErrClosed}
	}
	if serr == nil {
		serr = cerr
	}
	return written, true, serr
}

// sendfileHook is called each time the sendfile path is taken (tests count).
var sendfileHook = func() {}
