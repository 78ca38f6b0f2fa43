package server

import (
	"context"
	"time"

	"github.com/strata-io/strata/internal/metadata"
)

// producerIDBlocks is the txn.BlockSource of a broker: blocks of producer
// ids taken through the metadata log (metadata.Store.AllocateProducerIDs),
// so that ids are unique across the cluster. A per-broker counter would
// give two brokers' producers the same id, and each would have the
// other's batches dropped as duplicates.
type producerIDBlocks struct {
	ctx   context.Context // the broker's; ends when it closes
	store *metadata.Store
	floor int64 // ids below it were handed out before the cluster's log kept them
}

// allocateTimeout bounds one block allocation: InitProducerId fails
// (retriably) rather than hanging while the quorum has no leader.
const allocateTimeout = 10 * time.Second

func (p *producerIDBlocks) NextBlock() (start, end int64, err error) {
	ctx, cancel := context.WithTimeout(p.ctx, allocateTimeout)
	defer cancel()
	return p.store.AllocateProducerIDs(ctx, producerIDBlock, p.floor)
}
