// Package txn owns producer identity: the producer-id manager that hands
// out ids for InitProducerId today, and (in a later issue) the transaction
// coordinator. Per-partition idempotence state lives with the log in
// internal/storage, because it must be rebuilt from the log on recovery.
// This package never touches partition data.
package txn
