// Package txn owns producer identity and, later, transactions: the
// producer-id manager (producer_ids.go) that hands out ids for
// InitProducerId, idempotence state (later: the per-partition sequence state
// itself lives with the log, in storage), and the transaction coordinator
// (later: transactional ids, their state in __transaction_state, markers).
//
// It must never hand out a producer id twice, not even across a crash: two
// producers sharing an id would have their sequences checked against each
// other and their records deduplicated away.
package txn
