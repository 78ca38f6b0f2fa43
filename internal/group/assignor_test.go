package group

import (
	"fmt"
	"slices"
	"testing"

	"github.com/strata-io/strata/internal/metadata"
)

// Test topics: ids with a readable first byte.
var (
	tA = metadata.UUID{1}
	tB = metadata.UUID{2}
	tC = metadata.UUID{3}
)

func member(id string, topics ...metadata.UUID) AssignorMember {
	return AssignorMember{ID: id, Topics: topics, Current: TopicPartitions{}}
}

func withCurrent(m AssignorMember, cur TopicPartitions) AssignorMember {
	m.Current = cur
	return m
}

// checkValid fails unless every partition of every subscribed topic is
// assigned to exactly one member subscribed to its topic.
func checkValid(t *testing.T, spec AssignorSpec, got GroupAssignment) {
	t.Helper()
	subscribed := map[metadata.UUID]map[string]bool{}
	for _, m := range spec.Members {
		if _, ok := got[m.ID]; !ok {
			t.Errorf("member %s missing from the assignment", m.ID)
		}
		for _, id := range m.Topics {
			if subscribed[id] == nil {
				subscribed[id] = map[string]bool{}
			}
			subscribed[id][m.ID] = true
		}
	}
	seen := map[tp]string{}
	for mid, a := range got {
		for id, ps := range a {
			if !slices.IsSorted(ps) {
				t.Errorf("%s: partitions of %v not sorted: %v", mid, id[0], ps)
			}
			for _, p := range ps {
				if !subscribed[id][mid] {
					t.Errorf("%s got %v/%d without subscribing", mid, id[0], p)
				}
				if p < 0 || p >= spec.Topics[id] {
					t.Errorf("%s got nonexistent %v/%d", mid, id[0], p)
				}
				if o, dup := seen[tp{id, p}]; dup {
					t.Errorf("%v/%d given to %s and %s", id[0], p, o, mid)
				}
				seen[tp{id, p}] = mid
			}
		}
	}
	for id, subs := range subscribed {
		if len(subs) == 0 {
			continue
		}
		for p := int32(0); p < spec.Topics[id]; p++ {
			if _, ok := seen[tp{id, p}]; !ok {
				t.Errorf("%v/%d not assigned", id[0], p)
			}
		}
	}
}

// spread is max-min of the members' partition counts.
func spread(got GroupAssignment) int {
	lo, hi := -1, 0
	for _, a := range got {
		n := a.Count()
		if lo == -1 || n < lo {
			lo = n
		}
		hi = max(hi, n)
	}
	return hi - lo
}

// moved counts partitions that changed owner between prev and next among
// members present in both (partitions of departed members do not count).
func moved(prev, next GroupAssignment) int {
	n := 0
	for mid, a := range prev {
		b, ok := next[mid]
		if !ok {
			continue
		}
		for id, ps := range a {
			for _, p := range ps {
				if !b.Has(id, p) {
					n++
				}
			}
		}
	}
	return n
}

// rerun feeds an assignment back as the members' current assignment.
func rerun(a Assignor, spec AssignorSpec, prev GroupAssignment) GroupAssignment {
	for i := range spec.Members {
		if cur, ok := prev[spec.Members[i].ID]; ok {
			spec.Members[i].Current = cur
		}
	}
	return a.Assign(spec)
}

func TestAssignorsValidAndBalanced(t *testing.T) {
	for _, a := range []Assignor{UniformAssignor{}, RangeAssignor{}} {
		for _, tc := range []struct {
			name    string
			members []AssignorMember
			topics  map[metadata.UUID]int32
			// maxSpread is the largest allowed difference of member
			// partition counts, -1 for no check.
			maxSpread map[string]int
		}{
			{"no members", nil, map[metadata.UUID]int32{tA: 3}, nil},
			{"one member", []AssignorMember{member("m1", tA)}, map[metadata.UUID]int32{tA: 6}, map[string]int{"uniform": 0, "range": 0}},
			{"two members six partitions", []AssignorMember{member("m1", tA), member("m2", tA)}, map[metadata.UUID]int32{tA: 6}, map[string]int{"uniform": 0, "range": 0}},
			{"more members than partitions", []AssignorMember{member("a", tA), member("b", tA), member("c", tA)}, map[metadata.UUID]int32{tA: 2}, map[string]int{"uniform": 1, "range": 1}},
			{"two topics uneven", []AssignorMember{member("a", tA, tB), member("b", tA, tB), member("c", tA, tB)}, map[metadata.UUID]int32{tA: 4, tB: 4}, map[string]int{"uniform": 1, "range": 2}},
			{"heterogeneous", []AssignorMember{member("a", tA), member("b", tA, tB), member("c", tB, tC)}, map[metadata.UUID]int32{tA: 3, tB: 6, tC: 3}, map[string]int{"uniform": 2}}, // a can hold at most 3 of 12
			{"subscription to a missing topic", []AssignorMember{member("a", tA, tC), member("b", tA)}, map[metadata.UUID]int32{tA: 4}, map[string]int{"uniform": 0, "range": 0}},
			{"member without topics", []AssignorMember{member("a", tA), member("b")}, map[metadata.UUID]int32{tA: 4}, nil},
		} {
			t.Run(a.Name()+"/"+tc.name, func(t *testing.T) {
				spec := AssignorSpec{Members: tc.members, Topics: tc.topics}
				got := a.Assign(spec)
				checkValid(t, spec, got)
				if ms, ok := tc.maxSpread[a.Name()]; ok && spread(got) > ms {
					t.Errorf("spread %d > %d: %v", spread(got), ms, got)
				}
				if again := a.Assign(spec); fmt.Sprint(again) != fmt.Sprint(got) {
					t.Errorf("not deterministic: %v then %v", got, again)
				}
			})
		}
	}
}

func TestRangeAssignorRanges(t *testing.T) {
	spec := AssignorSpec{
		Members: []AssignorMember{member("m2", tA, tB), member("m1", tA, tB), member("m3", tA, tB)},
		Topics:  map[metadata.UUID]int32{tA: 7, tB: 7},
	}
	got := RangeAssignor{}.Assign(spec)
	want := map[string][]int32{"m1": {0, 1, 2}, "m2": {3, 4}, "m3": {5, 6}}
	for mid, ps := range want {
		// Co-partitioned topics: the same partition numbers of each.
		if !slices.Equal(got[mid][tA], ps) || !slices.Equal(got[mid][tB], ps) {
			t.Errorf("%s: got %v %v, want %v of both", mid, got[mid][tA], got[mid][tB], ps)
		}
	}
}

func TestAssignorsSticky(t *testing.T) {
	for _, a := range []Assignor{UniformAssignor{}, RangeAssignor{}} {
		t.Run(a.Name(), func(t *testing.T) {
			topics := map[metadata.UUID]int32{tA: 6, tB: 6}
			three := AssignorSpec{Members: []AssignorMember{member("a", tA, tB), member("b", tA, tB), member("c", tA, tB)}, Topics: topics}
			base := a.Assign(three)
			checkValid(t, three, base)

			// A member leaves: the others keep everything they had.
			two := AssignorSpec{Members: []AssignorMember{member("a", tA, tB), member("c", tA, tB)}, Topics: topics}
			afterLeave := rerun(a, two, base)
			checkValid(t, two, afterLeave)
			if n := moved(base, afterLeave); n != 0 {
				t.Errorf("leave moved %d partitions between staying members: %v -> %v", n, base, afterLeave)
			}
			if spread(afterLeave) > 0 {
				t.Errorf("after leave not balanced: %v", afterLeave)
			}

			// It rejoins: existing members only give partitions up.
			back := rerun(a, AssignorSpec{Members: []AssignorMember{member("a", tA, tB), member("b", tA, tB), member("c", tA, tB)}, Topics: topics}, afterLeave)
			checkValid(t, three, back)
			for _, mid := range []string{"a", "c"} {
				for id, ps := range back[mid] {
					for _, p := range ps {
						if !afterLeave[mid].Has(id, p) {
							t.Errorf("%s gained %v/%d on a join", mid, id[0], p)
						}
					}
				}
			}
			if spread(back) > 0 {
				t.Errorf("after rejoin not balanced: %v", back)
			}

			// Same input again: nothing moves.
			if n := moved(back, rerun(a, three, back)); n != 0 {
				t.Errorf("a stable group moved %d partitions", n)
			}
		})
	}
}

func TestAssignorsPartitionsAdded(t *testing.T) {
	for _, a := range []Assignor{UniformAssignor{}, RangeAssignor{}} {
		t.Run(a.Name(), func(t *testing.T) {
			spec := AssignorSpec{Members: []AssignorMember{member("a", tA), member("b", tA)}, Topics: map[metadata.UUID]int32{tA: 4}}
			before := a.Assign(spec)
			spec.Topics = map[metadata.UUID]int32{tA: 8}
			after := rerun(a, spec, before)
			checkValid(t, spec, after)
			if spread(after) != 0 {
				t.Errorf("not balanced: %v", after)
			}
			if a.Name() == UniformAssignorName && moved(before, after) != 0 {
				t.Errorf("uniform moved existing partitions: %v -> %v", before, after)
			}
		})
	}
}

func TestUniformHeterogeneousSticky(t *testing.T) {
	topics := map[metadata.UUID]int32{tA: 4, tB: 4}
	spec := AssignorSpec{Members: []AssignorMember{member("a", tA), member("b", tA, tB), member("c", tB)}, Topics: topics}
	base := UniformAssignor{}.Assign(spec)
	checkValid(t, spec, base)
	if spread(base) > 1 {
		t.Fatalf("spread: %v", base)
	}
	// "c" unsubscribes from tB and subscribes to tA: b keeps what it can.
	spec2 := AssignorSpec{Members: []AssignorMember{member("a", tA), member("b", tA, tB), member("c", tA)}, Topics: topics}
	next := rerun(UniformAssignor{}, spec2, base)
	checkValid(t, spec2, next)
	if next["a"].Count() != 2 || next["c"].Count() != 2 {
		t.Errorf("a and c should split tA: %v", next)
	}
	// b is the only subscriber of tB now: it must own all of it.
	if got := next["b"][tB]; len(got) != 4 {
		t.Errorf("b has %v of tB, want all 4", got)
	}
}

func TestAssignorsDropInvalidCurrent(t *testing.T) {
	for _, a := range []Assignor{UniformAssignor{}, RangeAssignor{}} {
		// Both claim tA/0; tB no longer exists; tA/9 does not exist.
		spec := AssignorSpec{
			Members: []AssignorMember{
				withCurrent(member("a", tA), TopicPartitions{tA: {0, 1, 9}, tB: {0}}),
				withCurrent(member("b", tA), TopicPartitions{tA: {0, 2}}),
			},
			Topics: map[metadata.UUID]int32{tA: 4},
		}
		got := a.Assign(spec)
		checkValid(t, spec, got)
		if spread(got) != 0 {
			t.Errorf("%s: %v", a.Name(), got)
		}
	}
}

func TestAssignorByName(t *testing.T) {
	if AssignorByName("uniform") == nil || AssignorByName("range") == nil || AssignorByName("sticky") != nil {
		t.Fatal("wrong assignor lookup")
	}
}

func benchSpec(members, partitions int) AssignorSpec {
	const topics = 10
	spec := AssignorSpec{Topics: map[metadata.UUID]int32{}}
	var ids []metadata.UUID
	for i := 0; i < topics; i++ {
		id := metadata.UUID{byte(i + 1), byte(i >> 8)}
		ids = append(ids, id)
		spec.Topics[id] = int32(partitions / topics)
	}
	for i := 0; i < members; i++ {
		spec.Members = append(spec.Members, member(fmt.Sprintf("member-%05d", i), ids...))
	}
	return spec
}

// BenchmarkAssign measures a reassignment after one member joined a
// stable group (the common case), for both assignors.
func BenchmarkAssign(b *testing.B) {
	for _, size := range []struct{ members, partitions int }{{10, 100}, {1000, 10000}} {
		for _, a := range []Assignor{UniformAssignor{}, RangeAssignor{}} {
			b.Run(fmt.Sprintf("%s/%dx%d", a.Name(), size.members, size.partitions), func(b *testing.B) {
				spec := benchSpec(size.members-1, size.partitions)
				stable := a.Assign(spec)
				full := benchSpec(size.members, size.partitions)
				for i := range full.Members {
					if cur, ok := stable[full.Members[i].ID]; ok {
						full.Members[i].Current = cur
					}
				}
				b.ReportAllocs()
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					a.Assign(full)
				}
			})
		}
	}
}
