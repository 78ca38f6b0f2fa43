package storage

import (
	"os"
	"syscall"
)

// syncData makes f's data durable with fdatasync(2): for an append-only
// segment file that is what an fsync does minus the inode timestamps, one
// metadata write fewer per group commit. The file size, which an append
// changes, is still written, as fdatasync guarantees.
func syncData(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return f.Sync()
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		for {
			serr = syscall.Fdatasync(int(fd))
			if serr != syscall.EINTR {
				return
			}
		}
	}); err != nil {
		// Control refuses only a closed file.
		return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: os.ErrClosed}
	}
	if serr != nil {
		return &os.PathError{Op: "fdatasync", Path: f.Name(), Err: serr}
	}
	return nil
}
