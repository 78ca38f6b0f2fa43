package group

import (
	"bytes"
	"slices"

	"github.com/strata-io/strata/internal/metadata"
)

// TopicPartitions is a set of partitions by topic id; each slice is sorted
// and holds no duplicates.
type TopicPartitions map[metadata.UUID][]int32

// Count is the number of partitions in tp.
func (tp TopicPartitions) Count() int {
	n := 0
	for _, ps := range tp {
		n += len(ps)
	}
	return n
}

// Has reports whether tp holds partition p of topic id.
func (tp TopicPartitions) Has(id metadata.UUID, p int32) bool {
	_, ok := slices.BinarySearch(tp[id], p)
	return ok
}

// Equal reports whether tp and o hold the same partitions.
func (tp TopicPartitions) Equal(o TopicPartitions) bool {
	if tp.Count() != o.Count() {
		return false
	}
	for id, ps := range tp {
		if !slices.Equal(ps, o[id]) {
			return false
		}
	}
	return true
}

// Clone returns a deep copy of tp.
func (tp TopicPartitions) Clone() TopicPartitions {
	out := make(TopicPartitions, len(tp))
	for id, ps := range tp {
		out[id] = slices.Clone(ps)
	}
	return out
}

// sortedTopicIDs returns tp's topic ids in byte order, so that output built
// from a map is deterministic.
func (tp TopicPartitions) sortedTopicIDs() []metadata.UUID {
	ids := make([]metadata.UUID, 0, len(tp))
	for id := range tp {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b metadata.UUID) int { return bytes.Compare(a[:], b[:]) })
	return ids
}

// AssignorMember is one member as a server-side assignor sees it.
type AssignorMember struct {
	ID string
	// Topics are the ids of the existing topics the member subscribes to.
	Topics []metadata.UUID
	// Current is the member's current target assignment, which the
	// assignor keeps where it can (stickiness).
	Current TopicPartitions
}

// AssignorSpec is the input of an assignor: the members and the partition
// count of every topic any of them subscribes to.
type AssignorSpec struct {
	Members []AssignorMember
	Topics  map[metadata.UUID]int32
}

// GroupAssignment is an assignor's result: every member's partitions. Every
// member of the spec has an entry, possibly empty; no partition is in two
// members' sets.
type GroupAssignment map[string]TopicPartitions

// Assignor is a KIP-848 server-side partition assignor.
type Assignor interface {
	// Name is the name members ask for in ServerAssignor.
	Name() string
	// Assign computes a new target assignment. It must be deterministic:
	// the same spec gives the same result.
	Assign(spec AssignorSpec) GroupAssignment
}

// AssignorByName returns the built-in assignor named name ("uniform" or
// "range"), nil if there is none.
func AssignorByName(name string) Assignor {
	switch name {
	case UniformAssignorName:
		return UniformAssignor{}
	case RangeAssignorName:
		return RangeAssignor{}
	}
	return nil
}

// sortedMembers returns the spec's members sorted by id, so that ties are
// broken the same way on every run and every broker.
func sortedMembers(spec AssignorSpec) []AssignorMember {
	ms := slices.Clone(spec.Members)
	slices.SortFunc(ms, func(a, b AssignorMember) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	return ms
}

func compareUUID(a, b metadata.UUID) int { return bytes.Compare(a[:], b[:]) }
