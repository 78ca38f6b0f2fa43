// Package group is the group coordinator: consumer groups' membership,
// their rebalances (the classic JoinGroup/SyncGroup protocol here, the
// KIP-848 consumer protocol in consumer_*.go) and their committed offsets.
//
// State is kept per partition of the internal topic __consumer_offsets (a
// "shard"): a group lives in shard javaHash(groupID) % partitions, exactly
// as in Kafka, so each shard can be loaded, served and given up on its own
// when leadership of its partition moves. Inside a shard every group has
// its own lock; no lock or goroutine spans all groups.
//
// Durability: every change that must survive a restart (a committed
// offset, a group's generation and assignment, a deletion) is a record in
// the shard's partition, in Kafka's key/value schemas, appended like an
// acks=-1 produce before the change is acknowledged. Loading a shard
// replays its partition from the log start to the high watermark.
//
// This package never decodes wire frames (handlers hand it kmsg values),
// never touches files directly (only through the partition), and never
// sleeps: time comes from a Clock so tests move it by hand.
package group
