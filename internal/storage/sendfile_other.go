//go:build !linux

package storage

import (
	"io"
	"os"
)

// sendfileTo is not used off Linux: WriteTo falls back to pread chunks.
func sendfileTo(w io.Writer, f *os.File, pos, size int64) (int64, bool, error) {
	return 0, false, nil
}

var sendfileHook = func() {}
