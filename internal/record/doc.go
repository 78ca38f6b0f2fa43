// Package record parses, validates and builds Kafka record batches (magic v2).
//
// It owns the byte layout of a batch and nothing else: no files, no offsets
// policy, no network. The broker's hot path only ever reads a batch header
// and checks its CRC; records are decoded (and decompressed) only by tools
// and by compaction, never on produce or fetch.
package record
