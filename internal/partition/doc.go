// Package partition is one replica of one partition: it puts the leader
// epoch, the replica set, the ISR and the high watermark around a storage
// log, and wakes long-polling fetches when the log grows.
//
// A leader (leader.go) learns its followers' log end offsets from their
// fetches, keeps the high watermark at the smallest of them over the ISR,
// holds acks=all appends until the HW passes them, and asks the
// controller to shrink or expand the ISR. A follower (follower.go) is fed
// by a replica fetcher (fetcher.go) that copies the leader's log,
// truncating a divergent tail first. Replication (replication.go) owns the
// broker's fetchers and the ISR checks; the metadata image drives roles
// through SetState.
//
// This package never decodes client requests and never writes metadata
// itself: ISR changes go through the AlterPartition function it is given.
package partition
