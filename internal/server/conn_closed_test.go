package server

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
)

// TestIsClosedErr: a client hanging up, however the kernel reports it, is
// a routine close; other I/O failures are not.
func TestIsClosedErr(t *testing.T) {
	wrap := func(errno error) error {
		return fmt.Errorf("write response: %w", &net.OpError{Op: "write", Net: "tcp", Err: os.NewSyscallError("write", errno)})
	}
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{io.EOF, true},
		{io.ErrUnexpectedEOF, true},
		{net.ErrClosed, true},
		{wrap(syscall.EPIPE), true},
		{wrap(syscall.ECONNRESET), true},
		{wrap(syscall.ENOBUFS), false},
		{errors.New("frame too large"), false},
	} {
		if got := isClosedErr(tc.err); got != tc.want {
			t.Errorf("isClosedErr(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}
