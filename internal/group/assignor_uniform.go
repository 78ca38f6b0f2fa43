package group

import (
	"slices"

	"github.com/strata-io/strata/internal/metadata"
)

// UniformAssignorName is the name of the uniform assignor, Kafka 4's default.
const UniformAssignorName = "uniform"

// UniformAssignor is Kafka 4's server-side "uniform" assignor: it spreads
// the partitions of the subscribed topics so that member partition counts
// differ by at most one wherever subscriptions allow it, and it is sticky:
// a member keeps its current partitions unless balance requires moving
// them.
//
// When all members subscribe to the same topics (the common case) every
// member gets floor(P/M) or ceil(P/M) partitions, computed in O(P + M).
// Otherwise each partition goes to the least loaded member subscribed to
// its topic, and partitions then move from the most to less loaded
// subscribers until no move can reduce a difference larger than one.
type UniformAssignor struct{}

// Name implements Assignor.
func (UniformAssignor) Name() string { return UniformAssignorName }

// uniformState is the working state of one assignment.
type uniformState struct {
	members []AssignorMember
	topics  []metadata.UUID // sorted
	parts   map[metadata.UUID]int32
	// owner[topic][p] is the index of p's member, -1 if unassigned.
	owner map[metadata.UUID][]int32
	count []int // partitions per member
}

// Assign implements Assignor.
func (UniformAssignor) Assign(spec AssignorSpec) GroupAssignment {
	st := &uniformState{
		members: sortedMembers(spec),
		parts:   spec.Topics,
		owner:   map[metadata.UUID][]int32{},
	}
	st.count = make([]int, len(st.members))
	subscribers := map[metadata.UUID][]int32{}
	for i, m := range st.members {
		for _, id := range m.Topics {
			if _, ok := spec.Topics[id]; ok {
				subscribers[id] = append(subscribers[id], int32(i))
			}
		}
	}
	for id := range subscribers {
		st.topics = append(st.topics, id)
		own := make([]int32, spec.Topics[id])
		for i := range own {
			own[i] = -1
		}
		st.owner[id] = own
	}
	slices.SortFunc(st.topics, compareUUID)

	if homogeneous(st.members, subscribers) {
		st.assignHomogeneous()
	} else {
		st.assignHeterogeneous(subscribers)
	}
	return st.result()
}

// homogeneous reports whether every member subscribes to every subscribed
// topic.
func homogeneous(members []AssignorMember, subscribers map[metadata.UUID][]int32) bool {
	for _, subs := range subscribers {
		if len(subs) != len(members) {
			return false
		}
	}
	return true
}

// claimCurrent gives every member its current partitions that are still
// valid (topic subscribed, partition exists, not claimed by an earlier
// member) and returns them per member in (topic, partition) order.
func (st *uniformState) claimCurrent(subscribed func(mi int, id metadata.UUID) bool) [][]tp {
	cur := make([][]tp, len(st.members))
	for mi, m := range st.members {
		for _, id := range m.Current.sortedTopicIDs() {
			own, ok := st.owner[id]
			if !ok || !subscribed(mi, id) {
				continue
			}
			for _, p := range m.Current[id] {
				if p >= 0 && int(p) < len(own) && own[p] == -1 {
					own[p] = int32(mi)
					cur[mi] = append(cur[mi], tp{id, p})
				}
			}
		}
		st.count[mi] = len(cur[mi])
	}
	return cur
}

type tp struct {
	topic metadata.UUID
	p     int32
}

func (st *uniformState) assignHomogeneous() {
	m := len(st.members)
	if m == 0 || len(st.topics) == 0 {
		return
	}
	cur := st.claimCurrent(func(int, metadata.UUID) bool { return true })
	total := 0
	for _, id := range st.topics {
		total += int(st.parts[id])
	}
	minQuota, extra := total/m, total%m

	// Members that hold the most keep the extra partitions, so the fewest
	// partitions move.
	order := make([]int, m)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return len(cur[b]) - len(cur[a]) })
	hasExtra := make([]bool, m)
	for _, mi := range order {
		keep := min(len(cur[mi]), minQuota)
		if len(cur[mi]) > minQuota && extra > 0 {
			keep++
			extra--
			hasExtra[mi] = true
		}
		for _, x := range cur[mi][keep:] {
			st.owner[x.topic][x.p] = -1
		}
		st.count[mi] = keep
	}

	// Hand out the free partitions in (topic, partition) order: first up
	// to the minimum quota, then one extra each while the extras last.
	free := st.freePartitions()
	next := 0
	give := func(mi, n int) {
		for ; n > 0 && next < len(free); n-- {
			x := free[next]
			next++
			st.owner[x.topic][x.p] = int32(mi)
			st.count[mi]++
		}
	}
	for mi := range st.members {
		if st.count[mi] < minQuota {
			give(mi, minQuota-st.count[mi])
		}
	}
	for mi := range st.members {
		if next == len(free) {
			break
		}
		if !hasExtra[mi] && extra > 0 {
			give(mi, 1)
			extra--
		}
	}
}

func (st *uniformState) freePartitions() []tp {
	var free []tp
	for _, id := range st.topics {
		for p, o := range st.owner[id] {
			if o == -1 {
				free = append(free, tp{id, int32(p)})
			}
		}
	}
	return free
}

func (st *uniformState) assignHeterogeneous(subscribers map[metadata.UUID][]int32) {
	subscribedTo := make([]map[metadata.UUID]bool, len(st.members))
	for mi, m := range st.members {
		subscribedTo[mi] = make(map[metadata.UUID]bool, len(m.Topics))
		for _, id := range m.Topics {
			subscribedTo[mi][id] = true
		}
	}
	st.claimCurrent(func(mi int, id metadata.UUID) bool { return subscribedTo[mi][id] })

	// least returns the subscriber of id with the fewest partitions
	// (lowest member id on ties: subscribers are in member order).
	least := func(id metadata.UUID) int32 {
		best := int32(-1)
		for _, mi := range subscribers[id] {
			if best == -1 || st.count[mi] < st.count[best] {
				best = mi
			}
		}
		return best
	}

	// Topics with the fewest subscribers first: their partitions have the
	// fewest places to go, so they should not find those places full.
	topics := slices.Clone(st.topics)
	slices.SortStableFunc(topics, func(a, b metadata.UUID) int {
		return len(subscribers[a]) - len(subscribers[b])
	})
	for _, id := range topics {
		own := st.owner[id]
		for p := range own {
			if own[p] == -1 {
				mi := least(id)
				own[p] = mi
				st.count[mi]++
			}
		}
	}

	// Balance: move a partition from its owner to the least loaded other
	// subscriber while that narrows a gap larger than one. Every move
	// lowers the sum of squared counts, so this ends; the bound on rounds
	// only guards against a bug turning it into a hang.
	for round := 0; round < len(st.members)+1; round++ {
		moved := false
		for _, id := range topics {
			own := st.owner[id]
			for p, o := range own {
				to := least(id)
				if st.count[o]-st.count[to] > 1 {
					own[p] = to
					st.count[o]--
					st.count[to]++
					moved = true
				}
			}
		}
		if !moved {
			return
		}
	}
}

func (st *uniformState) result() GroupAssignment {
	byMember := make([]TopicPartitions, len(st.members))
	for i := range byMember {
		byMember[i] = TopicPartitions{}
	}
	for _, id := range st.topics {
		for p, o := range st.owner[id] {
			if o >= 0 {
				a := byMember[o]
				a[id] = append(a[id], int32(p)) // ascending: p grows
			}
		}
	}
	out := make(GroupAssignment, len(st.members))
	for i, m := range st.members {
		out[m.ID] = byMember[i]
	}
	return out
}
