package main

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

var debugReady = regexp.MustCompile(`debug listener \(pprof\) ready" addr=(\S+)`)

func TestServerDebugListener(t *testing.T) {
	_, _, logs := runServer(t, "--listen", "127.0.0.1:0", "--data-dir", t.TempDir(), "--debug-listen", "127.0.0.1:0")
	var addr string
	for deadline := time.Now().Add(10 * time.Second); addr == "" && time.Now().Before(deadline); {
		if m := debugReady.FindStringSubmatch(logs.String()); m != nil {
			addr = m[1]
		} else {
			time.Sleep(20 * time.Millisecond)
		}
	}
	if addr == "" {
		t.Fatalf("no debug listener ready line in:\n%s", logs.String())
	}
	resp, err := http.Get("http://" + addr + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "serveConn") && !strings.Contains(string(body), "acceptLoop") {
		t.Errorf("goroutine profile: status %d, body without the broker's goroutines:\n%.500s", resp.StatusCode, body)
	}
}

func TestServerNoDebugListenerByDefault(t *testing.T) {
	_, _, logs := runServer(t, "--listen", "127.0.0.1:0", "--data-dir", t.TempDir())
	if strings.Contains(logs.String(), "debug listener") {
		t.Errorf("a debug listener started without --debug-listen:\n%s", logs.String())
	}
}
