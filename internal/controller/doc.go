// Package controller is the cluster's controller, KRaft-style: broker
// registration and heartbeats, fencing of brokers whose session expired,
// leader election from the ISR, AlterPartition (ISR changes asked for by
// partition leaders), controlled shutdown, partition reassignment,
// preferred leader election and auto leader rebalance.
//
// Every decision is a pure function of a metadata.Image (and the broker
// config) returning the metadata.Records that carry it out; the files are
// named for the decisions (register.go, fence.go, alter_partition.go,
// reassign.go, elect.go). Controller runs on every broker and acts only
// while its node is the Raft leader of the metadata quorum: it serves the
// controller RPCs of metadata/controller_api.go and writes through the
// store. Member is the broker side: registration, heartbeats and
// controlled shutdown.
//
// This package never touches partition data or client connections, and
// never changes an Image: it proposes records. Its only state is the
// active controller's heartbeat deadlines, which are rebuilt whenever a
// node becomes the leader.
package controller
