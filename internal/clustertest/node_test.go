package clustertest

import (
	"os"
	"path/filepath"
	"testing"
)

// TestReadyWriter: the ready line is found across writes split anywhere,
// only with the node's own address, and everything reaches the log file.
func TestReadyWriter(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ready := make(chan struct{})
	w := &readyWriter{f: f, want: "127.0.0.1:4000", ready: ready}
	isReady := func() bool {
		select {
		case <-ready:
			return true
		default:
			return false
		}
	}
	w.Write([]byte("level=INFO msg=\"strata broker ready\" addr=127.0.0.1:40001\n")) // another port
	if isReady() {
		t.Fatal("ready on another address's line")
	}
	w.Write([]byte("level=INFO msg=\"strata broker re"))
	if isReady() {
		t.Fatal("ready before the line ended")
	}
	w.Write([]byte("ady\" addr=127.0.0.1:4000 node_id=1\nmore\n"))
	if !isReady() {
		t.Fatal("not ready after the ready line")
	}
	w.Write([]byte("ready 127.0.0.1:4000\n")) // a second one must not close twice
	b, _ := os.ReadFile(f.Name())
	if want := 4; len(splitLines(string(b))) != want {
		t.Errorf("log holds %q, want %d lines", b, want)
	}
}

func splitLines(s string) []string {
	var out []string
	start := 0
	for i := range len(s) {
		if s[i] == '\n' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return out
}
