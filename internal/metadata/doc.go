// Package metadata holds the cluster metadata image (brokers, topics,
// partitions with their replicas, leaders, ISR and epochs, dynamic configs)
// and the Raft state machine that builds it from metadata records.
//
// Every change is a Record. The Store is this node's member of the
// metadata quorum (hashicorp/raft; a single node is a quorum of one on the
// same path): changes go to the leader (the active controller), which
// appends them to the replicated log as commands; every node applies the
// committed commands in order, deterministically, to an immutable *Image
// that readers share. This package never touches partition data and never
// talks to clients.
package metadata
