//go:build race

package clustertest

// raceEnabled: under -race the brokers are built with the race detector
// too (STRATA_CLUSTERTEST_RACE=0 turns that off).
const raceEnabled = true
