//go:build !(linux || darwin)

package handlers

// diskSpace returns -1, -1 (unknown) where statfs is not wired up.
func diskSpace(string) (total, usable int64) { return -1, -1 }
