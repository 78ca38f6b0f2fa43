// Package crashtest kills real strata processes and checks what survives.
//
// The tests build ./cmd/strata once, run `strata server` as a child process
// on a loopback port with a temporary data directory, produce through real
// clients while recording every acknowledged (partition, offset, value),
// kill the broker with SIGKILL (or stop it with SIGTERM) at a seeded random
// moment, restart it on the same directory, and read everything back. The
// invariant (DESIGN §4, §8): nothing acknowledged is ever lost, duplicated
// by an idempotent producer, reordered or moved, offsets stay dense, and a
// torn write is never served.
//
// The package has no non-test code besides this comment. It never reaches
// into the broker's packages: it sees the broker only as a process, a
// directory and a Kafka endpoint.
//
// A failure prints its seed; STRATA_CRASH_SEED=<seed> replays the same kill
// times. -short runs fewer, shorter rounds; it never skips.
package crashtest
