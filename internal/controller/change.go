package controller

import (
	"slices"

	"github.com/strata-io/strata/internal/metadata"
)

// change.go: how one partition's state changes (Kafka's
// PartitionChangeBuilder), and a batch that collects the changes of one
// decision into records.

// election is how a partition's leader is chosen when its current one is
// no longer valid (or, for preferred elections, not the preferred one).
type election uint8

const (
	// electOnline keeps a valid leader, else takes the first replica (in
	// replica order) that is in the ISR and acceptable.
	electOnline election = iota
	// electPreferred takes the first replica if it is valid, else as
	// electOnline.
	electPreferred
	// electUnclean is electOnline, but with no valid ISR member it takes
	// the first acceptable replica outside the ISR, which becomes the
	// whole ISR. Records the old leader had and it lacks are lost.
	electUnclean
)

// partitionChange computes the next state of one partition from target
// replicas, ISR and reassignment lists. Leader and epochs follow from
// them in build.
type partitionChange struct {
	cur      metadata.Partition
	election election
	// accept says whether a broker may lead or be added to the ISR:
	// registered and unfenced in the state being built.
	accept func(id int32) bool
	// keepLeader holds back a reassignment's completion that would take
	// the leadership from the current leader (see AlterPartition).
	keepLeader bool

	isr, replicas, adding, removing []int32
}

func newChange(cur metadata.Partition, accept func(int32) bool, e election) *partitionChange {
	return &partitionChange{
		cur: cur, accept: accept, election: e,
		isr: cur.ISR, replicas: cur.Replicas, adding: cur.AddingReplicas, removing: cur.RemovingReplicas,
	}
}

func (c *partitionChange) validLeader(id int32) bool {
	return id >= 0 && slices.Contains(c.isr, id) && c.accept(id)
}

// elect returns the leader for the target state and whether the choice
// was unclean (outside the ISR).
func (c *partitionChange) elect() (int32, bool) {
	if c.election == electPreferred && len(c.replicas) > 0 && c.validLeader(c.replicas[0]) {
		return c.replicas[0], false
	}
	if c.validLeader(c.cur.Leader) {
		return c.cur.Leader, false
	}
	for _, r := range c.replicas {
		if c.validLeader(r) {
			return r, false
		}
	}
	if c.election == electUnclean {
		for _, r := range c.replicas {
			if c.accept(r) {
				return r, true
			}
		}
	}
	return -1, false
}

// completeReassignment finishes a reassignment whose adding replicas are
// all in the ISR: the removing ones leave the replicas and the ISR. It
// does nothing while that would leave no replica or no ISR member.
func (c *partitionChange) completeReassignment() {
	if len(c.adding) == 0 && len(c.removing) == 0 {
		return
	}
	isr, replicas := c.isr, c.replicas
	if len(c.removing) > 0 {
		isr = without(c.isr, c.removing)
		replicas = without(c.replicas, c.removing)
		if len(isr) == 0 || len(replicas) == 0 {
			return
		}
	}
	for _, a := range c.adding {
		if !slices.Contains(isr, a) {
			return
		}
	}
	if c.keepLeader && slices.Contains(c.removing, c.cur.Leader) {
		return
	}
	c.isr, c.replicas, c.adding, c.removing = isr, replicas, nil, nil
}

// build returns the partition's next state, epochs not yet bumped (the
// batch does that once per partition), and whether anything changed.
//
// NB: an empty target ISR is not written: the last ISR member stays in
// the ISR even when it is fenced, leaderless, so that it (and only it,
// without unclean election) can lead again when it comes back. That is
// Kafka's KRaft rule and the reason a leaderless partition shows an ISR.
func (c *partitionChange) build() (metadata.Partition, bool) {
	c.completeReassignment()
	leader, unclean := c.elect()
	isr := c.isr
	switch {
	case unclean:
		isr = []int32{leader}
	case len(isr) == 0:
		isr = c.cur.ISR
	}
	next := metadata.Partition{
		Replicas:         c.replicas,
		ISR:              isr,
		Leader:           leader,
		LeaderEpoch:      c.cur.LeaderEpoch,
		PartitionEpoch:   c.cur.PartitionEpoch,
		AddingReplicas:   nilIfEmpty(c.adding),
		RemovingReplicas: nilIfEmpty(c.removing),
	}
	return next, !samePartition(c.cur, next)
}

// samePartition compares placement and leadership, not epochs.
func samePartition(a, b metadata.Partition) bool {
	return a.Leader == b.Leader && slices.Equal(a.Replicas, b.Replicas) && slices.Equal(a.ISR, b.ISR) &&
		slices.Equal(a.AddingReplicas, b.AddingReplicas) && slices.Equal(a.RemovingReplicas, b.RemovingReplicas)
}

func nilIfEmpty(s []int32) []int32 {
	if len(s) == 0 {
		return nil
	}
	return s
}

// without returns a new slice of s minus the members of drop, in order.
func without(s, drop []int32) []int32 {
	out := make([]int32, 0, len(s))
	for _, x := range s {
		if !slices.Contains(drop, x) {
			out = append(out, x)
		}
	}
	return out
}

// partKey names a partition in a batch.
type partKey struct {
	topic metadata.UUID
	index int32
}

// batch collects the records of one controller decision. It holds at most
// one new state per partition and per broker, so the records it returns
// carry each partition's PartitionEpoch + 1 (and LeaderEpoch + 1 where the
// leader changed) relative to the image, as the store requires; later
// changes in the same decision build on the earlier ones.
type batch struct {
	img       *metadata.Image
	pre       []metadata.Record // written first (the cluster id)
	brokers   map[int32]metadata.Broker
	brokerSeq []int32
	parts     map[partKey]metadata.Partition
	partSeq   []partKey
	// moved marks partitions whose leader changed in some step of the
	// batch, even if a later step restored it: the leader epoch must
	// still grow (a broker that restarted and leads again may have lost
	// its unflushed tail; followers must see a new epoch to truncate).
	moved map[partKey]bool
}

func newBatch(img *metadata.Image) *batch {
	return &batch{img: img, brokers: map[int32]metadata.Broker{}, parts: map[partKey]metadata.Partition{}, moved: map[partKey]bool{}}
}

// broker returns a broker's registration as the batch has it.
func (b *batch) broker(id int32) (metadata.Broker, bool) {
	if br, ok := b.brokers[id]; ok {
		return br, true
	}
	br, ok := b.img.Brokers[id]
	return br, ok
}

func (b *batch) setBroker(br metadata.Broker) {
	if _, ok := b.brokers[br.NodeID]; !ok {
		b.brokerSeq = append(b.brokerSeq, br.NodeID)
	}
	b.brokers[br.NodeID] = br
}

// live reports whether a broker is registered and unfenced in the batch.
func (b *batch) live(id int32) bool {
	br, ok := b.broker(id)
	return ok && !br.Fenced
}

// partition returns partition i of t as the batch has it.
func (b *batch) partition(t *metadata.Topic, i int) metadata.Partition {
	if p, ok := b.parts[partKey{t.ID, int32(i)}]; ok {
		return p
	}
	return t.Partitions[i]
}

// change runs c (made for the batch's state of t's partition i) and keeps
// the result; it reports whether the partition changed.
func (b *batch) change(t *metadata.Topic, i int, c *partitionChange) bool {
	next, changed := c.build()
	if !changed {
		return false
	}
	k := partKey{t.ID, int32(i)}
	if next.Leader != b.partition(t, i).Leader {
		b.moved[k] = true
	}
	if _, ok := b.parts[k]; !ok {
		b.partSeq = append(b.partSeq, k)
	}
	b.parts[k] = next
	return true
}

// newChange starts a change of t's partition i on the batch's state, with
// the batch's live brokers acceptable and the topic's election rule.
func (b *batch) newChange(t *metadata.Topic, i int, unclean bool) *partitionChange {
	e := electOnline
	if unclean {
		e = electUnclean
	}
	return newChange(b.partition(t, i), b.live, e)
}

// records returns the batch as records: the brokers' registrations, then
// one partition_change per changed partition with its epochs bumped.
func (b *batch) records() []metadata.Record {
	recs := append([]metadata.Record(nil), b.pre...)
	for _, id := range b.brokerSeq {
		br := b.brokers[id]
		recs = append(recs, metadata.Record{Type: metadata.TypeRegisterBroker, Broker: &br})
	}
	for _, k := range b.partSeq {
		t := b.img.TopicByID(k.topic)
		if !b.moved[k] && samePartition(t.Partitions[k.index], b.parts[k]) {
			continue // changed and changed back
		}
		next := b.state(t, int(k.index))
		recs = append(recs, metadata.Record{Type: metadata.TypePartitionChange, TopicID: k.topic, Partition: k.index, PartitionState: &next})
	}
	return recs
}

// state returns the final state of a changed partition with its epochs as
// records() writes them, or the image's state if it did not change.
func (b *batch) state(t *metadata.Topic, i int) metadata.Partition {
	orig := t.Partitions[i]
	k := partKey{t.ID, int32(i)}
	next, ok := b.parts[k]
	if !ok || !b.moved[k] && samePartition(orig, next) {
		return orig
	}
	next.PartitionEpoch = orig.PartitionEpoch + 1
	next.LeaderEpoch = orig.LeaderEpoch
	if b.moved[k] {
		next.LeaderEpoch++
	}
	return next
}
