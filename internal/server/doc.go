// Package server is the broker: it opens the data directory, the metadata
// and the partition logs, listens for Kafka clients, frames and decodes
// their requests, dispatches them to the handlers and writes the responses
// back in order. It is a library: New takes a config value and returns a
// broker that serves until Close, with no package-level state, no flag
// parsing and no os.Exit.
package server
