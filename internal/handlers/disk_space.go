//go:build linux || darwin

package handlers

import "syscall"

// diskSpace returns the total and usable (available to this process)
// bytes of the file system holding dir, -1 and -1 if unknown.
func diskSpace(dir string) (total, usable int64) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return -1, -1
	}
	bsize := int64(st.Bsize)
	return int64(st.Blocks) * bsize, int64(st.Bavail) * bsize
}
