// Package bench is the load generator behind `strata bench`: producers,
// consumers and an end-to-end latency probe built on franz-go, so they
// work against any Kafka broker, not only Strata.
//
// It owns the measuring side only: a run creates (and optionally deletes)
// its topic, drives the clients, counts acknowledged and received records,
// samples throughput over time, records latencies in an HDR histogram, and
// renders the result as text, JSON or a self-contained HTML page.
//
// The per-record loops must not allocate: records come from a fixed pool
// that the producer's promise refills, values are one shared payload (or a
// per-slot buffer when a timestamp must be embedded), and keys are written
// into per-slot buffers. What franz-go allocates itself is the client's
// cost and is measured as such.
package bench
