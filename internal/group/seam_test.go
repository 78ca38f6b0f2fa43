package group

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/strata-io/strata/internal/record"
)

// fakeConsumer stands in for the KIP-848 state to test the seam: what the
// coordinator asks of a consumer group and how mixing protocols is refused.
type fakeConsumer struct {
	members int
	closed  bool
}

func (f *fakeConsumer) Empty() bool       { return f.members == 0 }
func (f *fakeConsumer) StateName() string { return "Stable" }
func (f *fakeConsumer) ValidateOffsetCommit(memberID string, epoch int32, _ int16) int16 {
	if memberID != "c1" {
		return kerr.UnknownMemberID.Code
	}
	if epoch != 5 {
		return kerr.StaleMemberEpoch.Code
	}
	return 0
}
func (f *fakeConsumer) ValidateOffsetFetch(string, int32) int16 { return 0 }
func (f *fakeConsumer) Subscribed(topic string) bool            { return topic == "t" }
func (f *fakeConsumer) TombstoneKeys() [][]byte                 { return [][]byte{{0, 3, 0, 1, 'x'}} }
func (f *fakeConsumer) Close()                                  { f.closed = true }

func TestConsumerSeam(t *testing.T) {
	ct := newCoordTest(t, nil)
	fc := &fakeConsumer{members: 1}
	applied := false
	code := ct.c.UpdateGroup("cg", true, func(g *Group) ([]record.RecordSpec, func(), int16) {
		if c := g.SetConsumerLocked(fc); c != 0 {
			return nil, nil, c
		}
		return []record.RecordSpec{{Key: []byte{0, 3, 0, 2, 'c', 'g'}, Value: []byte{0, 0}}}, func() { applied = true }, 0
	})
	if code != 0 || !applied {
		t.Fatalf("UpdateGroup: %d applied=%v", code, applied)
	}
	// Classic requests to a consumer group with members: Kafka's error.
	if c := ct.join(req9, joinReq("cg", "", "range", "")).wait(t).ErrorCode; c != kerr.GroupIDNotFound.Code {
		t.Errorf("classic join of a consumer group: %d", c)
	}
	if c := ct.heartbeat("cg", "c1", 5); c != kerr.GroupIDNotFound.Code {
		t.Errorf("classic heartbeat of a consumer group: %d", c)
	}
	// Offset commits are checked by member epoch.
	if codes := ct.commit("cg", "c1", 4, map[int32]int64{0: 1}); codes[0] != kerr.StaleMemberEpoch.Code {
		t.Errorf("stale epoch commit: %v", codes)
	}
	if codes := ct.commit("cg", "c1", 5, map[int32]int64{0: 1}); codes[0] != 0 {
		t.Errorf("commit: %v", codes)
	}
	if code := ct.c.DeleteGroup("cg"); code != kerr.NonEmptyGroup.Code {
		t.Errorf("delete of a consumer group with members: %d", code)
	}
	// Once empty, a classic join takes the group over.
	fc.members = 0
	if r := ct.join(reqV(3), joinReq("cg", "", "range", "")).wait(t); r.ErrorCode != 0 {
		t.Fatalf("classic join of an empty consumer group: %d", r.ErrorCode)
	}
	if !fc.closed {
		t.Error("the consumer state was not closed on conversion")
	}
	// And a classic group with members cannot become a consumer group.
	code = ct.c.UpdateGroup("cg", false, func(g *Group) ([]record.RecordSpec, func(), int16) {
		return nil, nil, g.SetConsumerLocked(&fakeConsumer{})
	})
	if code != kerr.GroupIDNotFound.Code {
		t.Errorf("consumer takeover of a classic group: %d", code)
	}
	if code := ct.c.UpdateGroup("missing", false, func(*Group) ([]record.RecordSpec, func(), int16) { return nil, nil, 0 }); code != kerr.GroupIDNotFound.Code {
		t.Errorf("UpdateGroup of a missing group: %d", code)
	}
}
