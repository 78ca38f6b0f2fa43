package clienttest

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestGroupOffsetsOfDeletedTopicRemoved: deleting a topic deletes the
// offsets groups committed for it (Kafka's coordinator writes tombstones
// for them, onPartitionsDeleted), so a topic re-created under the same
// name does not inherit offsets past its log end.
func TestGroupOffsetsOfDeletedTopicRemoved(t *testing.T) {
	addr := startGroupBroker(t)
	const topic, other, group = "doomed", "kept", "doomed-group"
	createTopic(t, addr, topic, 2, nil)
	createTopic(t, addr, other, 1, nil)
	adm := newAdmin(t, addr)
	offs := kadm.Offsets{}
	offs.Add(kadm.Offset{Topic: topic, Partition: 0, At: 3, LeaderEpoch: -1})
	offs.Add(kadm.Offset{Topic: topic, Partition: 1, At: 4, LeaderEpoch: -1})
	offs.Add(kadm.Offset{Topic: other, Partition: 0, At: 5, LeaderEpoch: -1})
	if err := adm.CommitAllOffsets(testCtx(t), group, offs); err != nil {
		t.Fatalf("commit: %v", err)
	}
	// And through a real member's commit, as a consumer leaves them.
	prod := newKgo(t, addr)
	produceFranz(t, prod, &kgo.Record{Topic: topic, Partition: 0, Value: []byte("x")})
	consumeAndCommit(t, addr, group+"-member", topic, 1)
	if got := fetchCommitted(t, addr, group+"-member", topic); len(got) == 0 {
		t.Fatalf("the member committed nothing")
	}
	if _, err := adm.DeleteTopic(testCtx(t), topic); err != nil {
		t.Fatalf("delete topic: %v", err)
	}
	waitFor(t, "the deleted topic's offsets to go", func() bool {
		return len(fetchCommitted(t, addr, group, topic)) == 0 && len(fetchCommitted(t, addr, group+"-member", topic)) == 0
	})
	if got := fetchCommitted(t, addr, group, other); got[0] != 5 {
		t.Errorf("offsets of the topic that was not deleted: %v, want partition 0 at 5", got)
	}
}
