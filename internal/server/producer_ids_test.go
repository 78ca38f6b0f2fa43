package server_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/strata-io/strata/internal/brokertest"
)

// TestProducerIDsUniqueAcrossBrokers asks every broker of a cluster for
// producer ids (InitProducerId, as idempotent producers do) and requires
// them all distinct: two producers with one id would have each other's
// batches dropped as duplicates, acknowledged but never stored.
func TestProducerIDsUniqueAcrossBrokers(t *testing.T) {
	c := brokertest.StartCluster(t, 3, nil)
	cl, err := kgo.NewClient(kgo.SeedBrokers(c.Addrs()...))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	seen := map[int64]int32{}
	for round := range 3 {
		for i := range 3 {
			node := c.NodeID(i)
			req := kmsg.NewPtrInitProducerIDRequest()
			resp, err := req.RequestWith(ctx, cl.Broker(int(node)))
			if err == nil {
				err = kerr.ErrorForCode(resp.ErrorCode)
			}
			if err != nil {
				t.Fatalf("round %d: InitProducerId on broker %d: %v", round, node, err)
			}
			if other, dup := seen[resp.ProducerID]; dup {
				t.Fatalf("round %d: broker %d handed out producer id %d, as broker %d did before", round, node, resp.ProducerID, other)
			}
			seen[resp.ProducerID] = node
		}
	}
}
