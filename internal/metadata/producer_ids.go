package metadata

import (
	"context"
	"fmt"
	"math"
)

// AllocateProducerIDs takes the next block of size producer ids for this
// broker, [start, end), through the metadata log, and never below floor
// (the end of the ids a broker handed out before it was part of a
// cluster). Every broker of the cluster takes its blocks here, so no two
// brokers hand out the same id: idempotence state is keyed by producer
// id, and two producers sharing one would have each other's batches
// taken for duplicates and silently dropped. (Kafka's brokers do the same
// through AllocateProducerIds to the controller, KIP-730.)
func (s *Store) AllocateProducerIDs(ctx context.Context, size, floor int64) (start, end int64, err error) {
	if size <= 0 {
		return 0, 0, fmt.Errorf("metadata: producer id block size %d must be positive", size)
	}
	err = s.UpdateContext(ctx, func(img *Image) ([]Record, error) {
		start = max(img.ProducerIDsEnd, floor)
		if start > math.MaxInt64-size {
			return nil, fmt.Errorf("metadata: producer ids exhausted at %d", start)
		}
		end = start + size
		return []Record{{Type: TypeProducerIDs, ProducerIDsEnd: end}}, nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("metadata: allocate producer ids: %w", err)
	}
	return start, end, nil
}
