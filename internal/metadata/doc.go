// Package metadata holds the cluster metadata image (brokers, topics,
// partitions with their replicas, leaders, ISR and epochs, dynamic configs)
// and the state machine that builds it from metadata records.
//
// Every change is a Record; a Store persists records before applying them,
// and every reader sees an immutable *Image. On a single node the records
// go to a local journal; the cluster issue puts a Raft log in its place,
// with the same records and the same apply function. This package never
// touches partition data and never talks to clients.
package metadata
