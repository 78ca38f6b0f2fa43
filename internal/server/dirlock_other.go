//go:build !unix

package server

import "os"

// lockDataDir is a no-op where flock does not exist.
func lockDataDir(dir string) (*os.File, error) { return nil, nil }
