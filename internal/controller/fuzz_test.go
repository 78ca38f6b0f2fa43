package controller

import (
	"encoding/json"
	"testing"

	"github.com/strata-io/strata/internal/metadata"
)

// FuzzDecisions feeds arbitrary controller requests (as the RPC decodes
// them from the wire) to every decision against one image: none may
// panic, and whatever records a decision returns must apply to the image
// under the store's rules.
func FuzzDecisions(f *testing.F) {
	seeds := []struct {
		method string
		req    any
	}{
		{metadata.MethodAlterPartition, metadata.AlterPartitionRequest{NodeID: 1, BrokerEpoch: epochOf, TopicID: metadata.UUID{1}, NewISR: []int32{1, 2, 3}}},
		{metadata.MethodReassign, metadata.ReassignRequest{Entries: []metadata.ReassignEntry{{PartitionRef: metadata.PartitionRef{Topic: "t", Partition: 1}, Replicas: []int32{3, 4}}}}},
		{metadata.MethodReassign, metadata.ReassignRequest{Entries: []metadata.ReassignEntry{{PartitionRef: metadata.PartitionRef{Topic: "t", Partition: 2}}}}},
		{metadata.MethodElectLeaders, metadata.ElectLeadersRequest{Type: metadata.ElectUnclean}},
		{metadata.MethodControlledShutdown, metadata.ControlledShutdownRequest{NodeID: 2, BrokerEpoch: epochOf}},
		{metadata.MethodRegisterBroker, metadata.RegisterBrokerRequest{Broker: metadata.Broker{NodeID: 4, Host: "h", Port: 1}}},
		{metadata.MethodBrokerHeartbeat, metadata.BrokerHeartbeatRequest{NodeID: 3, BrokerEpoch: epochOf}},
	}
	methods := []string{metadata.MethodAlterPartition, metadata.MethodReassign, metadata.MethodElectLeaders,
		metadata.MethodControlledShutdown, metadata.MethodRegisterBroker, metadata.MethodBrokerHeartbeat, "fence", "reconcile", "rebalance"}
	for _, s := range seeds {
		b, _ := json.Marshal(s.req)
		for i, m := range methods {
			if m == s.method {
				f.Add(uint8(i), b)
			}
		}
	}
	f.Add(uint8(6), []byte(`[2,-1,9]`))
	f.Add(uint8(7), []byte(`{}`))
	f.Add(uint8(8), []byte(`{}`))

	img := cluster{brokers: []int32{1, 2, 3, -4}, topics: map[string][]string{"t": {
		"r=1,2,3 isr=1,2,3 l=1 le=2 pe=3",
		"r=2,3 isr=2 l=2",
		"r=3,1,4,2 isr=1,3 l=1 add=3,4 rm=2 le=1 pe=2",
		"r=4,1 isr=4 l=-1 le=5 pe=5",
	}}}.image(f)
	bc := brokerConfig(f, nil)
	f.Fuzz(func(t *testing.T, m uint8, raw []byte) {
		var recs []metadata.Record
		decode := func(v any) bool { return json.Unmarshal(raw, v) == nil }
		switch methods[int(m)%len(methods)] {
		case metadata.MethodAlterPartition:
			var req metadata.AlterPartitionRequest
			if decode(&req) {
				recs, _ = AlterPartition(img, bc, req)
			}
		case metadata.MethodReassign:
			var req metadata.ReassignRequest
			if decode(&req) {
				var resp metadata.ReassignResponse
				recs, resp = Reassign(img, bc, req)
				if len(resp.Results) != len(req.Entries) {
					t.Fatalf("%d results for %d entries", len(resp.Results), len(req.Entries))
				}
			}
		case metadata.MethodElectLeaders:
			var req metadata.ElectLeadersRequest
			if decode(&req) {
				recs, _ = Elect(img, bc, req)
			}
		case metadata.MethodControlledShutdown:
			var req metadata.ControlledShutdownRequest
			if decode(&req) {
				recs, _ = ControlledShutdown(img, bc, req)
			}
		case metadata.MethodRegisterBroker:
			var req metadata.RegisterBrokerRequest
			if decode(&req) {
				recs, _, _ = Register(img, bc, req.Broker)
			}
		case metadata.MethodBrokerHeartbeat:
			var req metadata.BrokerHeartbeatRequest
			if decode(&req) {
				Heartbeat(img, req)
			}
		case "fence":
			var ids []int32
			if decode(&ids) {
				recs = Fence(img, bc, ids...)
			}
		case "reconcile":
			recs = Reconcile(img, bc)
		case "rebalance":
			recs = Rebalance(img, int(len(raw)%101))
		}
		next := applyChecked(t, img, recs)
		for _, name := range next.TopicNames() {
			for i, p := range next.Topic(name).Partitions {
				if p.Leader >= 0 && !contains(p.ISR, p.Leader) {
					t.Fatalf("%s-%d: leader %d outside the ISR %v", name, i, p.Leader, p.ISR)
				}
				if len(p.ISR) == 0 {
					t.Fatalf("%s-%d: empty ISR", name, i)
				}
			}
		}
	})
}

func contains(s []int32, x int32) bool {
	for _, y := range s {
		if y == x {
			return true
		}
	}
	return false
}
