// Package brokertest starts real Strata brokers in-process for tests: a
// broker on an ephemeral 127.0.0.1 port with its data in t.TempDir(),
// closed when the test ends.
package brokertest

import (
	"log/slog"
	"os"
	"testing"

	"github.com/strata-io/strata/internal/config"
	"github.com/strata-io/strata/internal/server"
)

// Start starts a broker with the given Kafka-named config overrides and
// returns its bootstrap address ("127.0.0.1:PORT").
func Start(t testing.TB, overrides map[string]string) string {
	t.Helper()
	b := StartBroker(t, t.TempDir(), overrides)
	return b.Addr().String()
}

// StartBroker starts a broker on dataDir (so a test can restart one on the
// same data) and returns it; it is closed when the test ends.
func StartBroker(t testing.TB, dataDir string, overrides map[string]string) *server.Broker {
	t.Helper()
	set := map[string]string{"listeners": "127.0.0.1:0", "log.dirs": dataDir}
	for k, v := range overrides {
		set[k] = v
	}
	cfg, err := config.NewBroker(set)
	if err != nil {
		t.Fatalf("brokertest: config: %v", err)
	}
	b, err := server.New(cfg, server.Options{Logger: testLogger()})
	if err != nil {
		t.Fatalf("brokertest: starting broker: %v", err)
	}
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("brokertest: closing broker: %v", err)
		}
	})
	return b
}

// testLogger logs warnings, or everything with STRATA_TEST_LOG set.
func testLogger() *slog.Logger {
	level := slog.LevelWarn
	if os.Getenv("STRATA_TEST_LOG") != "" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
}
