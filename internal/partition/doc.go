// Package partition is one replica of one partition: it puts the leader
// epoch, the replica set, the ISR and the high watermark around a storage
// log, and wakes long-polling fetches when the log grows.
//
// On a single node every partition is a leader whose ISR is itself, so the
// high watermark equals the log end offset. The cluster issue adds the
// follower side and ISR tracking here; the shape (HW separate from LEO,
// epochs checked on every request) is already that of a replicated log.
// This package never decodes requests and never touches metadata storage.
package partition
