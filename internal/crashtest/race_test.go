//go:build race

package crashtest

// raceEnabled: under `go test -race` the broker binary is built with the
// race detector too, so a race in the real process under kill -9 load is
// reported (and failed by requireNoPanic) rather than missed.
const raceEnabled = true
