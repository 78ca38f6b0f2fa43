package server

import (
	"bufio"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/strata-io/strata/internal/config"
)

// TestIdleConnectionsClosed checks connections.max.idle.ms: a connection
// without requests is closed, one that keeps sending them is not.
func TestIdleConnectionsClosed(t *testing.T) {
	cfg, err := config.NewBroker(map[string]string{"listeners": "127.0.0.1:0", "log.dirs": t.TempDir(),
		"connections.max.idle.ms": "400"})
	if err != nil {
		t.Fatal(err)
	}
	br, err := New(cfg, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer br.Close()

	idle, err := net.Dial("tcp", br.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	busy, err := net.Dial("tcp", br.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()

	req := kmsg.NewPtrApiVersionsRequest()
	frame := kmsg.NewRequestFormatter().AppendRequest(nil, req, 1)
	br2 := bufio.NewReader(busy)
	start := time.Now()
	for time.Since(start) < 1200*time.Millisecond {
		if _, err := busy.Write(frame); err != nil {
			t.Fatalf("busy connection after %v: %v", time.Since(start), err)
		}
		var size [4]byte
		if _, err := io.ReadFull(br2, size[:]); err != nil {
			t.Fatalf("busy connection closed after %v: %v", time.Since(start), err)
		}
		if _, err := br2.Discard(int(binary.BigEndian.Uint32(size[:]))); err != nil {
			t.Fatal(err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	// By now (1.2 s) the idle one is closed: a read sees EOF at once.
	_ = idle.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := idle.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("idle connection: read %d bytes, err %v; want EOF", n, err)
	}
}
