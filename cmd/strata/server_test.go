package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// syncBuffer is a bytes.Buffer safe for the server's logger and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var readyAddr = regexp.MustCompile(`strata broker ready" addr=(\S+) listen=(\S+)`)

// runServer runs `strata server args...` in-process until the test ends and
// returns the advertised and listen addresses from its ready line.
func runServer(t *testing.T, args ...string) (advertised, listen string, logs *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs = &syncBuffer{}
	cmd := newRootCmd()
	cmd.SetArgs(append([]string{"server"}, args...))
	cmd.SetErr(logs)
	cmd.SetOut(logs)
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server exited with %v", err)
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if m := readyAddr.FindStringSubmatch(logs.String()); m != nil {
			return m[1], m[2], logs
		}
		select {
		case err := <-done:
			t.Fatalf("server exited before ready: %v\n%s", err, logs.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	t.Fatalf("no ready line:\n%s", logs.String())
	return "", "", nil
}

// TestServerConfigSources starts `strata server` with a properties file,
// STRATA_ environment variables and --override, and checks each value
// reached the broker, later sources winning (file < env < --override <
// flags), with --advertise telling clients another address.
func TestServerConfigSources(t *testing.T) {
	dir := t.TempDir()
	props := filepath.Join(dir, "server.properties")
	os.WriteFile(props, []byte(strings.Join([]string{
		"# a Kafka-style file",
		"num.partitions=2",
		"log.retention.hours=10",
		"message.max.bytes=5000",
		"listeners=PLAINTEXT://127.0.0.1:1", // the --listen flag wins
	}, "\n")), 0o644)
	t.Setenv("STRATA_LOG_RETENTION_HOURS", "20") // env beats the file
	t.Setenv("STRATA_MESSAGE_MAX_BYTES", "6000")

	// Advertise another name for the same port, one clients can dial.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	adv := fmt.Sprintf("localhost:%d", port)
	advertised, listen, _ := runServer(t, "--config", props, "--listen", fmt.Sprintf("127.0.0.1:%d", port),
		"--data-dir", filepath.Join(dir, "data"), "--override", "message.max.bytes=7000",
		"--advertise", adv)
	if advertised != adv || listen != fmt.Sprintf("127.0.0.1:%d", port) {
		t.Fatalf("advertised %q listen %q", advertised, listen)
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "_metadata")); err != nil {
		t.Fatalf("--data-dir not used: %v", err)
	}

	cl, err := kgo.NewClient(kgo.SeedBrokers(listen))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	adm := kadm.NewClient(cl)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Metadata tells clients the advertised address.
	md, err := adm.BrokerMetadata(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if b := md.Brokers[0]; b.Host != "localhost" || int(b.Port) != port {
		t.Fatalf("metadata broker %s:%d, want %s", b.Host, b.Port, adv)
	}
	cfgs, err := adm.DescribeBrokerConfigs(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	rc, err := cfgs.On("1", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"num.partitions": "2", "log.retention.hours": "20", "message.max.bytes": "7000"}
	for _, c := range rc.Configs {
		if w, ok := want[c.Key]; ok {
			if c.MaybeValue() != w {
				t.Errorf("%s = %q, want %q", c.Key, c.MaybeValue(), w)
			}
			delete(want, c.Key)
		}
	}
	if len(want) != 0 {
		t.Errorf("configs not described: %v", want)
	}
}

func TestServerRejectsBadConfig(t *testing.T) {
	for _, args := range [][]string{
		{"--override", "num.partitions=lots"},
		{"--override", "no.such.config=1"},
		{"--override", "missing-equals"},
		{"--config", "/nonexistent/server.properties"},
		{"--voters", "1@nohostport", "--controller-listen", "127.0.0.1:0"},
		{"--voters", "one@127.0.0.1:9093", "--controller-listen", "127.0.0.1:0"},
		{"--voters", "1@127.0.0.1:9093,1@127.0.0.1:9094", "--controller-listen", "127.0.0.1:0"},
		{"--voters", "1@127.0.0.1:9093"}, // a voter with no controller listener
		{"--controller-listen", "nohostport"},
	} {
		cmd := newRootCmd()
		cmd.SetArgs(append([]string{"server", "--listen", "127.0.0.1:0", "--data-dir", t.TempDir()}, args...))
		var out bytes.Buffer
		cmd.SetErr(&out)
		cmd.SetOut(&out)
		err := cmd.ExecuteContext(context.Background())
		if err == nil {
			t.Errorf("%v: server started", args)
			continue
		}
		if strings.Contains(err.Error(), "panic") || err.Error() == "" {
			t.Errorf("%v: unclear error %q", args, err)
		}
		if args[0] == "--voters" && !strings.Contains(err.Error(), "controller.quorum.voters") {
			t.Errorf("%v: error %q does not name controller.quorum.voters", args, err)
		}
	}
}
