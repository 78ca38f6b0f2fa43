// Package config holds Strata's broker and topic configuration under
// Kafka's names, types and defaults, so that what a Kafka operator knows
// transfers unchanged. It parses and validates values; it never reads
// files other than the properties file it is pointed at, and it has no
// package-level mutable state.
package config
