package group

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/strata-io/strata/internal/metadata"
)

// harness drives one ConsumerGroup with simulated clients, an injected
// clock and a hand-made metadata image. After every step it checks that
// no two clients consume the same partition and that replaying every
// record written so far into a fresh group gives the same state.
type harness struct {
	t       *testing.T
	now     time.Time
	g       *ConsumerGroup
	img     *metadata.Image
	clients map[string]*sim
	records []ConsumerGroupRecord
}

// sim is a well-behaved client: it owns exactly what the last response
// assigned it (revoking at once) and reports it on every heartbeat.
type sim struct {
	id       string
	epoch    int32
	owned    TopicPartitions
	topics   []string
	regex    *string
	instance *string
	assignor *string
}

func newHarness(t *testing.T, cfg ConsumerConfig) *harness {
	h := &harness{t: t, now: time.Unix(1_700_000_000, 0), g: NewConsumerGroup("g", cfg), clients: map[string]*sim{}}
	h.img = &metadata.Image{Topics: map[string]*metadata.Topic{}}
	return h
}

func topicID(name string) metadata.UUID {
	var id metadata.UUID
	copy(id[:], name)
	id[15] = 0xee
	return id
}

// setTopic creates or grows a topic (a new image, as the metadata store
// would publish).
func (h *harness) setTopic(name string, partitions int) {
	next := &metadata.Image{Offset: h.img.Offset + 1, Topics: map[string]*metadata.Topic{}}
	for n, t := range h.img.Topics {
		next.Topics[n] = t
	}
	next.Topics[name] = &metadata.Topic{Name: name, ID: topicID(name), Partitions: make([]metadata.Partition, partitions)}
	h.img = next
}

func (h *harness) deleteTopic(name string) {
	next := &metadata.Image{Offset: h.img.Offset + 1, Topics: map[string]*metadata.Topic{}}
	for n, t := range h.img.Topics {
		if n != name {
			next.Topics[n] = t
		}
	}
	h.img = next
}

func (h *harness) client(id string, topics ...string) *sim {
	c := &sim{id: id, owned: TopicPartitions{}, topics: topics}
	h.clients[id] = c
	return c
}

func (h *harness) request(c *sim) *kmsg.ConsumerGroupHeartbeatRequest {
	req := kmsg.NewPtrConsumerGroupHeartbeatRequest()
	req.Group = h.g.ID
	req.MemberID = c.id
	req.MemberEpoch = c.epoch
	req.InstanceID = c.instance
	req.RebalanceTimeoutMillis = 30000
	req.ServerAssignor = c.assignor
	if c.regex != nil {
		req.SubscribedTopicRegex = c.regex
	} else {
		req.SubscribedTopicNames = slices.Clone(c.topics)
	}
	req.Topics = []kmsg.ConsumerGroupHeartbeatRequestTopic{}
	if c.epoch != 0 {
		for _, id := range c.owned.sortedTopicIDs() {
			req.Topics = append(req.Topics, kmsg.ConsumerGroupHeartbeatRequestTopic{TopicID: id, Partitions: slices.Clone(c.owned[id])})
		}
	}
	return req
}

// send runs one request through validation and the group, as the handler
// will, and records what it wrote.
func (h *harness) send(req *kmsg.ConsumerGroupHeartbeatRequest) *kmsg.ConsumerGroupHeartbeatResponse {
	h.t.Helper()
	if e := ValidateHeartbeat(req, 1, h.g.cfg); e != nil {
		resp := kmsg.NewPtrConsumerGroupHeartbeatResponse()
		resp.ErrorCode, resp.ErrorMessage = e.Err.Code, &e.Message
		return resp
	}
	before := snapshot(h.g)
	resp, recs := h.g.Heartbeat(HeartbeatInput{Req: req, Version: 1, ClientID: "cid", ClientHost: "/127.0.0.1", Now: h.now, Image: h.img})
	if resp.ErrorCode != 0 {
		if len(recs) != 0 || snapshot(h.g) != before {
			h.t.Fatalf("error %d changed the group: %d records", resp.ErrorCode, len(recs))
		}
		return resp
	}
	if len(recs) > 0 {
		// Undo (as after a failed write) must restore the state exactly,
		// and doing it again must write the same records.
		h.g.RollbackLast()
		if after := snapshot(h.g); after != before {
			h.t.Fatalf("rollback differs:\nbefore:   %s\nrollback: %s", before, after)
		}
		again, recs2 := h.g.Heartbeat(HeartbeatInput{Req: req, Version: 1, ClientID: "cid", ClientHost: "/127.0.0.1", Now: h.now, Image: h.img})
		if encodeAll(recs2) != encodeAll(recs) || again.MemberEpoch != resp.MemberEpoch {
			h.t.Fatalf("redo after rollback differs:\n%v\n%v", recs, recs2)
		}
		resp = again
	}
	h.records = append(h.records, recs...)
	h.checkReplay()
	return resp
}

// beat sends c's heartbeat and applies the response to c.
func (h *harness) beat(c *sim) *kmsg.ConsumerGroupHeartbeatResponse {
	h.t.Helper()
	resp := h.send(h.request(c))
	if resp.ErrorCode != 0 {
		return resp
	}
	c.epoch = resp.MemberEpoch
	if resp.Assignment != nil {
		c.owned = TopicPartitions{}
		for _, t := range resp.Assignment.Topics {
			c.owned[t.TopicID] = slices.Clone(t.Partitions)
		}
	}
	h.checkExclusive()
	return resp
}

func (h *harness) mustBeat(c *sim) *kmsg.ConsumerGroupHeartbeatResponse {
	h.t.Helper()
	resp := h.beat(c)
	if resp.ErrorCode != 0 {
		h.t.Fatalf("%s: heartbeat error %v: %s", c.id, kerr.ErrorForCode(resp.ErrorCode), derefString(resp.ErrorMessage))
	}
	return resp
}

// settle heartbeats every client round-robin until a full round changes
// nothing, and fails if that takes more than a few rounds.
func (h *harness) settle(cs ...*sim) {
	h.t.Helper()
	for round := 0; round < 10; round++ {
		changed := false
		for _, c := range cs {
			epoch, owned := c.epoch, c.owned.Clone()
			h.mustBeat(c)
			if c.epoch != epoch || !c.owned.Equal(owned) {
				changed = true
			}
		}
		if !changed && h.g.State() == ConsumerStateStable {
			return
		}
	}
	h.t.Fatalf("group did not settle: %s", snapshot(h.g))
}

func (h *harness) leave(c *sim, epoch int32) *kmsg.ConsumerGroupHeartbeatResponse {
	req := h.request(c)
	req.MemberEpoch = epoch
	req.Topics = nil
	resp := h.send(req)
	if resp.ErrorCode == 0 {
		delete(h.clients, c.id)
		c.owned, c.epoch = TopicPartitions{}, 0
	}
	return resp
}

func (h *harness) advance(d time.Duration) []string {
	h.now = h.now.Add(d)
	before := snapshot(h.g)
	recs, gone := h.g.Expire(h.now, h.img)
	if len(recs) > 0 {
		h.g.RollbackLast()
		if after := snapshot(h.g); after != before {
			h.t.Fatalf("expire rollback differs:\nbefore:   %s\nrollback: %s", before, after)
		}
		recs, gone = h.g.Expire(h.now, h.img)
	}
	h.records = append(h.records, recs...)
	h.checkReplay()
	for _, id := range gone {
		delete(h.clients, id)
	}
	return gone
}

// checkExclusive: no partition is owned by two clients at the same time.
func (h *harness) checkExclusive() {
	h.t.Helper()
	seen := map[tp]string{}
	for _, c := range h.clients {
		for id, ps := range c.owned {
			for _, p := range ps {
				if o, dup := seen[tp{id, p}]; dup {
					h.t.Fatalf("partition %x/%d owned by %s and %s", id[0], p, o, c.id)
				}
				seen[tp{id, p}] = c.id
			}
		}
	}
}

// checkReplay encodes every record written so far, decodes them and
// applies them to a fresh group: the result must equal the live group.
func (h *harness) checkReplay() {
	h.t.Helper()
	fresh := NewConsumerGroup(h.g.ID, h.g.cfg)
	for _, r := range h.records {
		key := r.AppendKey(nil)
		val := r.AppendValue(nil)
		d, err := DecodeConsumerGroupRecord(key, val)
		if err != nil {
			h.t.Fatalf("decode %d: %v", r.Type, err)
		}
		if fresh.Apply(d) {
			fresh = NewConsumerGroup(h.g.ID, h.g.cfg)
		}
	}
	if a, b := snapshot(h.g), snapshot(fresh); a != b {
		h.t.Fatalf("replay differs:\nlive:   %s\nreplay: %s", a, b)
	}
}

// snapshot renders the persisted state of a group deterministically.
func snapshot(g *ConsumerGroup) string {
	var b strings.Builder
	fmt.Fprintf(&b, "epoch=%d assignment=%d subscribed=%v", g.Epoch, g.AssignmentEpoch, renderSubscribed(g.Subscribed))
	for _, id := range sortedMemberIDs(g) {
		m := g.Members[id]
		fmt.Fprintf(&b, " [%s inst=%q topics=%v re=%q assignor=%q rt=%d epoch=%d prev=%d %s assigned=%s revoking=%s target=%s]",
			id, m.InstanceID, m.SubscribedTopicNames, m.SubscribedTopicRegex, m.ServerAssignor, m.RebalanceTimeoutMs,
			m.MemberEpoch, m.PreviousMemberEpoch, m.State, render(m.Assigned), render(m.PendingRevocation), render(g.Target[id]))
	}
	var owners []string
	for id, own := range g.owner {
		for p, m := range own {
			owners = append(owners, fmt.Sprintf("%x/%d=%s", id[0], p, m))
		}
	}
	slices.Sort(owners)
	fmt.Fprintf(&b, " owners=%v static=%v", owners, g.static)
	return b.String()
}

func renderSubscribed(s map[string]SubscribedTopic) string {
	var out []string
	for n, t := range s {
		out = append(out, fmt.Sprintf("%s:%d", n, t.Partitions))
	}
	slices.Sort(out)
	return strings.Join(out, ",")
}

func render(tp TopicPartitions) string {
	var out []string
	for _, id := range tp.sortedTopicIDs() {
		out = append(out, fmt.Sprintf("%c%v", id[0], tp[id]))
	}
	return strings.Join(out, "")
}

// count is how many partitions c owns.
func (c *sim) count() int { return c.owned.Count() }

// encodeAll renders records as their key and value bytes.
func encodeAll(recs []ConsumerGroupRecord) string {
	var b strings.Builder
	for _, r := range recs {
		fmt.Fprintf(&b, "%x=%x;", r.AppendKey(nil), r.AppendValue(nil))
	}
	return b.String()
}
