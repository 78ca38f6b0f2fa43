package group

import (
	"slices"

	"github.com/strata-io/strata/internal/metadata"
)

// RangeAssignorName is the name of the range assignor.
const RangeAssignorName = "range"

// RangeAssignor is Kafka 4's server-side "range" assignor: per topic, the
// members subscribed to it (sorted by member id) get contiguous ranges of
// partitions, floor(P/M) each and one more for the first P%M of them, so
// that members subscribed to the same co-partitioned topics get the same
// partition numbers of each. It is sticky: a member keeps as many of its
// current partitions of a topic as its quota allows (the lowest numbers
// first), and only the rest is handed out.
type RangeAssignor struct{}

// Name implements Assignor.
func (RangeAssignor) Name() string { return RangeAssignorName }

// Assign implements Assignor.
func (RangeAssignor) Assign(spec AssignorSpec) GroupAssignment {
	members := sortedMembers(spec)
	out := make(GroupAssignment, len(members))
	subscribers := map[metadata.UUID][]int{} // topic → indexes into members
	for i, m := range members {
		out[m.ID] = TopicPartitions{}
		for _, id := range m.Topics {
			if _, ok := spec.Topics[id]; ok {
				subscribers[id] = append(subscribers[id], i)
			}
		}
	}
	topics := make([]metadata.UUID, 0, len(subscribers))
	for id := range subscribers {
		topics = append(topics, id)
	}
	slices.SortFunc(topics, compareUUID)

	for _, id := range topics {
		subs := subscribers[id]
		n := spec.Topics[id]
		minQuota := int(n) / len(subs)
		extra := int(n) % len(subs)
		taken := make([]bool, n)
		type unfilled struct {
			member    int
			remaining int
		}
		var open []unfilled
		for _, mi := range subs {
			cur := validPartitions(members[mi].Current[id], n)
			// A partition two members claim (only a corrupt input has
			// that) stays with the first.
			cur = slices.DeleteFunc(cur, func(p int32) bool { return taken[p] })
			keep := min(len(cur), minQuota)
			remaining := minQuota - len(cur)
			if remaining < 0 && extra > 0 {
				// A member holding more than the minimum keeps one of the
				// extra partitions rather than moving it elsewhere.
				keep++
				extra--
			} else {
				open = append(open, unfilled{mi, remaining})
			}
			for _, p := range cur[:keep] {
				taken[p] = true
			}
			if keep > 0 {
				out[members[mi].ID][id] = slices.Clone(cur[:keep])
			}
		}
		next := int32(0) // the lowest partition not yet handed out
		for _, u := range open {
			r := u.remaining
			if extra > 0 {
				r++
				extra--
			}
			if r <= 0 {
				continue
			}
			got := out[members[u.member].ID][id]
			for ; r > 0 && next < n; next++ {
				if taken[next] {
					continue
				}
				taken[next] = true
				got = append(got, next)
				r--
			}
			slices.Sort(got)
			out[members[u.member].ID][id] = got
		}
	}
	return out
}

// validPartitions returns the sorted partitions of cur below n (a topic
// never shrinks in Kafka, but a stale assignment must not name partitions
// that do not exist).
func validPartitions(cur []int32, n int32) []int32 {
	out := make([]int32, 0, len(cur))
	for _, p := range cur {
		if p >= 0 && p < n {
			out = append(out, p)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}
