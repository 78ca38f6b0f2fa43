//go:build unix && !linux

package main

import "syscall"

// devProcAttr puts each broker in its own process group, so the
// terminal's Ctrl-C reaches only `cluster dev`, which then stops them.
func devProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
