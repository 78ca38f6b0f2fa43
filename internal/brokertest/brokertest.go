// Package brokertest starts real Strata brokers in-process for tests: a
// broker on an ephemeral 127.0.0.1 port with its data in t.TempDir(),
// closed when the test ends.
package brokertest

import "testing"

// Start starts a broker with the given Kafka-named config overrides and
// returns its bootstrap address ("127.0.0.1:PORT").
func Start(t testing.TB, overrides map[string]string) string {
	t.Helper()
	t.Fatal("brokertest: broker not wired yet")
	return ""
}
