package main

import "syscall"

// devProcAttr puts each broker in its own process group, so the
// terminal's Ctrl-C reaches only `cluster dev`, which then stops the
// brokers in order; and asks the kernel to SIGTERM a broker whose parent
// dies, so a killed `cluster dev` leaves no brokers behind.
func devProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}
