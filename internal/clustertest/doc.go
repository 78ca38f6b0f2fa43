// Package clustertest runs real multi-broker Strata clusters for tests:
// the strata binary (built once per test process) started N times as
// subprocesses on 127.0.0.1, voters of the metadata quorum (or brokers
// joining it as non-voters), exactly as the README starts a cluster by
// hand. A test can kill (SIGKILL), stop
// (SIGTERM), restart, pause (SIGSTOP) and resume (SIGCONT) any broker,
// wait for the cluster to settle through the Kafka admin APIs (franz-go
// kadm), and check every record acknowledged with acks=all against what a
// consumer reads back (ledger.go, verify.go).
//
// It sees the brokers only as processes, directories and Kafka endpoints:
// it never imports the broker's packages, so what it checks is what a
// client of a real cluster would see.
//
// The fault scenarios that use it are behind the build tag `chaos`
// (`make chaos`); they print their seed on failure and replay it from
// STRATA_CHAOS_SEED.
package clustertest
