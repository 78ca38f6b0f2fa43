package controller

import (
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/strata-io/strata/internal/config"
	"github.com/strata-io/strata/internal/metadata"
)

// elect.go: leader elections asked for (ElectLeaders, KIP-183/KIP-460),
// the periodic leader rebalance (auto.leader.rebalance.enable), and the
// periodic sweep that elects leaderless partitions and completes
// reassignments the last change left ready.

// Elect runs ElectLeaders: for each partition (every partition when the
// request names none) a preferred election (the first replica leads if
// it is alive and in the ISR) or an unclean one (a leaderless partition
// takes an ISR member, else any live replica). A partition that already
// has what was asked is ELECTION_NOT_NEEDED, left out of the answer when
// the request named no partitions, as Kafka does; one where no leader
// could be chosen is PREFERRED_LEADER_NOT_AVAILABLE or
// ELIGIBLE_LEADERS_NOT_AVAILABLE.
func Elect(img *metadata.Image, bc config.Broker, req metadata.ElectLeadersRequest) ([]metadata.Record, metadata.ElectLeadersResponse) {
	b := newBatch(img)
	var resp metadata.ElectLeadersResponse
	if req.Type != metadata.ElectPreferred && req.Type != metadata.ElectUnclean {
		for _, ref := range req.Partitions {
			resp.Results = append(resp.Results, metadata.PartitionResult{PartitionRef: ref, ErrorCode: kerr.InvalidRequest.Code, Message: "unknown election type"})
		}
		return nil, resp
	}
	if req.Partitions == nil {
		for _, name := range img.TopicNames() {
			for i := range img.Topics[name].Partitions {
				res := b.elect(req.Type, metadata.PartitionRef{Topic: name, Partition: int32(i)})
				if res.ErrorCode != kerr.ElectionNotNeeded.Code {
					resp.Results = append(resp.Results, res)
				}
			}
		}
		return b.records(), resp
	}
	for _, ref := range req.Partitions {
		resp.Results = append(resp.Results, b.elect(req.Type, ref))
	}
	return b.records(), resp
}

func (b *batch) elect(typ int8, ref metadata.PartitionRef) metadata.PartitionResult {
	res := metadata.PartitionResult{PartitionRef: ref}
	t := b.img.Topic(ref.Topic)
	if t == nil || ref.Partition < 0 || int(ref.Partition) >= len(t.Partitions) {
		res.ErrorCode, res.Message = kerr.UnknownTopicOrPartition.Code, "no such partition"
		return res
	}
	i := int(ref.Partition)
	p := b.partition(t, i)
	if typ == metadata.ElectPreferred && len(p.Replicas) > 0 && p.Leader == p.Replicas[0] ||
		typ == metadata.ElectUnclean && p.Leader >= 0 {
		res.ErrorCode = kerr.ElectionNotNeeded.Code
		return res
	}
	c := newChange(p, b.live, electPreferred)
	if typ == metadata.ElectUnclean {
		c.election = electUnclean
	}
	if !b.change(t, i, c) {
		if typ == metadata.ElectPreferred {
			res.ErrorCode, res.Message = kerr.PreferredLeaderNotAvailable.Code, "the preferred replica is not alive and in the ISR"
		} else {
			res.ErrorCode, res.Message = kerr.EligibleLeadersNotAvailable.Code, "no replica is alive"
		}
	}
	return res
}

// Rebalance returns the preferred elections of Kafka's auto leader
// rebalance: for each broker, the share of the partitions it is the
// preferred (first) replica of but does not lead; above pct percent,
// every such partition whose preferred replica is alive and in the ISR
// moves its leadership back to it. Partitions being reassigned are left
// alone.
func Rebalance(img *metadata.Image, pct int) []metadata.Record {
	type tally struct{ preferred, notLeading int }
	per := map[int32]*tally{}
	for _, name := range img.TopicNames() {
		for _, p := range img.Topics[name].Partitions {
			if len(p.Replicas) == 0 || Reassigning(p) {
				continue
			}
			pref := p.Replicas[0]
			if per[pref] == nil {
				per[pref] = &tally{}
			}
			per[pref].preferred++
			if p.Leader != pref {
				per[pref].notLeading++
			}
		}
	}
	b := newBatch(img)
	for _, name := range img.TopicNames() {
		t := img.Topics[name]
		for i, p := range t.Partitions {
			if len(p.Replicas) == 0 || p.Leader == p.Replicas[0] || Reassigning(p) {
				continue
			}
			tl := per[p.Replicas[0]]
			if tl.notLeading*100 <= pct*tl.preferred {
				continue
			}
			if pref := p.Replicas[0]; b.live(pref) && slices.Contains(p.ISR, pref) {
				b.change(t, i, newChange(p, b.live, electPreferred))
			}
		}
	}
	return b.records()
}

// Reconcile returns the changes the image is ready for without a new
// event: a leaderless partition whose ISR has a live member again (or,
// with unclean election allowed, any live replica), and a reassignment
// whose adding replicas are all in the ISR. Registration and AlterPartition
// make these changes themselves; the sweep covers a controller that
// failed between deciding and writing, and configs changed since.
func Reconcile(img *metadata.Image, bc config.Broker) []metadata.Record {
	b := newBatch(img)
	for _, name := range img.TopicNames() {
		t := img.Topics[name]
		unclean := -1
		for i, p := range t.Partitions {
			if p.Leader >= 0 && !Reassigning(p) {
				continue
			}
			if unclean < 0 {
				unclean = btoi(uncleanFor(bc, t))
			}
			b.change(t, i, b.newChange(t, i, unclean == 1))
		}
	}
	return b.records()
}
