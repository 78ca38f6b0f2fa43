package clienttest

import (
	"errors"
	"net"
	"strconv"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestFranzTopicLifecycle drives the topic admin APIs through kadm: create,
// describe via Metadata, add partitions, delete, and re-create empty.
func TestFranzTopicLifecycle(t *testing.T) {
	t.Parallel()
	addr := startBroker(t, map[string]string{"num.partitions": "3"})
	adm := newAdmin(t, addr)
	ctx := testCtx(t)

	brokers, err := adm.ListBrokers(ctx)
	if err != nil {
		t.Fatalf("list brokers: %v", err)
	}
	host, port, _ := net.SplitHostPort(addr)
	if len(brokers) != 1 || brokers[0].Host != host || strconv.Itoa(int(brokers[0].Port)) != port {
		t.Fatalf("brokers = %+v, want exactly one at %s", brokers, addr)
	}
	node := brokers[0].NodeID

	createTopic(t, addr, "orders", 2, nil)
	// -1/-1 asks for the broker's defaults (CreateTopics v4+): num.partitions=3.
	if r, err := adm.CreateTopic(ctx, -1, -1, nil, "defaults"); err != nil {
		t.Fatalf("create with broker defaults: %v (%+v)", err, r)
	}

	_, err = adm.CreateTopic(ctx, 1, 1, nil, "orders")
	requireKerr(t, "create existing topic", err, kerr.TopicAlreadyExists)

	md, err := adm.Metadata(ctx, "orders", "defaults")
	if err != nil {
		t.Fatalf("metadata: %v", err)
	}
	for topic, want := range map[string]int{"orders": 2, "defaults": 3} {
		td := md.Topics[topic]
		if td.Err != nil {
			t.Fatalf("metadata %q: %v", topic, td.Err)
		}
		if len(td.Partitions) != want {
			t.Fatalf("metadata %q: %d partitions, want %d", topic, len(td.Partitions), want)
		}
		for p, pd := range td.Partitions {
			if pd.Err != nil || pd.Leader != node || len(pd.Replicas) != 1 || pd.Replicas[0] != node || len(pd.ISR) != 1 || pd.ISR[0] != node {
				t.Errorf("metadata %s/%d: %+v, want leader, replicas and ISR = [%d]", topic, p, pd, node)
			}
		}
	}

	// Grow to 4 partitions; the new partition must take writes at offset 0.
	cp, err := adm.UpdatePartitions(ctx, 4, "orders")
	if err == nil {
		err = cp.Error()
	}
	if err != nil {
		t.Fatalf("update partitions to 4: %v", err)
	}
	cl := newKgo(t, addr, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	got := produceFranz(t, cl, &kgo.Record{Topic: "orders", Partition: 3, Value: []byte("on the new partition")})
	requireRecs(t, "produce to added partition", got, []rec{{3, 0, "", "on the new partition"}})

	// Partition counts never shrink.
	cp, err = adm.UpdatePartitions(ctx, 2, "orders")
	if err == nil {
		err = cp.Error()
	}
	requireKerr(t, "shrink partitions", err, kerr.InvalidPartitions)

	oldID := md.Topics["orders"].ID
	if oldID == (kadm.TopicID{}) {
		t.Errorf("metadata: topic %q has no topic ID", "orders")
	}

	del, err := adm.DeleteTopic(ctx, "orders")
	if err == nil {
		err = del.Err
	}
	if err != nil {
		t.Fatalf("delete topic: %v", err)
	}
	md, err = adm.Metadata(ctx, "orders")
	if err != nil {
		t.Fatalf("metadata after delete: %v", err)
	}
	requireKerr(t, "metadata of deleted topic", md.Topics["orders"].Err, kerr.UnknownTopicOrPartition)

	_, err = adm.DeleteTopic(ctx, "orders")
	requireKerr(t, "delete deleted topic", err, kerr.UnknownTopicOrPartition)

	// A topic re-created under the old name starts empty.
	waitFor(t, "re-creating the deleted topic", func() bool {
		_, err := adm.CreateTopic(ctx, 1, 1, nil, "orders")
		if errors.Is(err, kerr.TopicAlreadyExists) {
			return false // deletion may finish asynchronously
		}
		if err != nil {
			t.Fatalf("re-create topic: %v", err)
		}
		return true
	})
	if ends := endOffsets(t, addr, "orders"); len(ends) != 1 || ends[0] != 0 {
		t.Fatalf("re-created topic end offsets = %v, want {0: 0}", ends)
	}
	// A raw Metadata request: kadm may answer from its client's cache.
	if id := kadm.TopicID(topicID(t, newKgo(t, addr), "orders")); id == oldID || id == (kadm.TopicID{}) {
		t.Errorf("re-created topic has ID %v; want a new, non-zero one (the deleted topic's was %v)", id, oldID)
	}
}
