//go:build !unix

package main

import "syscall"

// devProcAttr: no process groups here; Ctrl-C reaches the brokers too,
// which then stop on their own.
func devProcAttr() *syscall.SysProcAttr { return nil }
