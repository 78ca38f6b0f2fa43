package main

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

func TestParseTopicSpec(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want topicSpec
		err  string
	}{
		{"orders", topicSpec{topic: "orders"}, ""},
		{"orders:0", topicSpec{topic: "orders", partitions: []int32{0}}, ""},
		{"orders:2,0,1,0", topicSpec{topic: "orders", partitions: []int32{0, 1, 2}}, ""},
		{"a.b_c-d:7", topicSpec{topic: "a.b_c-d", partitions: []int32{7}}, ""},
		{"orders:", topicSpec{}, `"" is not a partition number`},
		{"orders:x", topicSpec{}, `"x" is not a partition number`},
		{"orders:-1", topicSpec{}, `"-1" is not a partition number`},
		{"orders:1,,2", topicSpec{}, "not a partition number"},
		{":1", topicSpec{}, "topic name is empty"},
		{"bad/name", topicSpec{}, "contains '/'"},
	} {
		got, err := parseTopicSpec(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("parseTopicSpec(%q) error = %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got.topic != tc.want.topic || !slices.Equal(got.partitions, tc.want.partitions) {
			t.Errorf("parseTopicSpec(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestParseResetDatetime(t *testing.T) {
	local := time.Date(2026, 1, 1, 0, 0, 0, 0, time.Local).UnixMilli()
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"2026-01-01T00:00:00.000Z", 1767225600000, true},
		{"2026-01-01T00:00:00Z", 1767225600000, true},
		{"2026-01-01T02:00:00.250+02:00", 1767225600250, true},
		{"2026-01-01T02:00:00.250+0200", 1767225600250, true},
		{"2026-01-01T00:00:00.000", local, true}, // Kafka: no zone means local time
		{"2026-01-01T00:00:00", local, true},
		{"2026-01-01", 0, false},
		{"1767225600000", 0, false},
		{"yesterday", 0, false},
	} {
		got, err := parseResetDatetime(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseResetDatetime(%q) = %d, %v; want %d ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestParseStates(t *testing.T) {
	got, err := parseStates([]string{"stable,EMPTY", "Stable", "preparingrebalance"})
	if err != nil || !slices.Equal(got, []string{"Stable", "Empty", "PreparingRebalance"}) {
		t.Errorf("parseStates = %q, %v", got, err)
	}
	if got, err := parseStates([]string{stateAll}); err == nil {
		t.Errorf("parseStates(%q) = %q, want an error", stateAll, got)
	}
	if _, err := parseStates([]string{"Stable,Sleeping"}); err == nil || !strings.Contains(err.Error(), `"Sleeping"`) {
		t.Errorf("parseStates(Sleeping) error = %v", err)
	}
	if got, err := parseStates(nil); err != nil || got != nil {
		t.Errorf("parseStates(nil) = %q, %v; want no filter", got, err)
	}
}

// TestPlanReset checks every reset target, including Kafka's clamping of
// the new offset into [log start, log end].
func TestPlanReset(t *testing.T) {
	// p0: committed 50 in [10, 100]; p1: nothing committed, [0, 20];
	// p2: empty partition whose log start moved to 30.
	parts := []partitionOffsets{
		{topic: "t", partition: 0, committed: 50, start: 10, end: 100, byTime: 70},
		{topic: "t", partition: 1, committed: -1, start: 0, end: 20, byTime: -1},
		{topic: "t", partition: 2, committed: 30, start: 30, end: 30, byTime: -1},
	}
	noShift := parts[:1:1]
	for _, tc := range []struct {
		name     string
		spec     resetSpec
		parts    []partitionOffsets
		want     []int64 // new offset per partition
		warnings int
		err      string
	}{
		{"earliest", resetSpec{kind: resetEarliest}, parts, []int64{10, 0, 30}, 0, ""},
		{"latest", resetSpec{kind: resetLatest}, parts, []int64{100, 20, 30}, 0, ""},
		{"offset inside every range", resetSpec{kind: resetOffset, n: 15}, parts[:2], []int64{15, 15}, 0, ""},
		{"offset clamped both ways", resetSpec{kind: resetOffset, n: 25}, parts, []int64{25, 20, 30}, 2, ""},
		{"offset 0 clamped up to the log start", resetSpec{kind: resetOffset, n: 0}, parts, []int64{10, 0, 30}, 2, ""},
		{"datetime: found, or the log end when none is that late", resetSpec{kind: resetDatetime, n: 1}, parts, []int64{70, 20, 30}, 0, ""},
		{"shift forward", resetSpec{kind: resetShift, n: 5}, noShift, []int64{55}, 0, ""},
		{"shift back", resetSpec{kind: resetShift, n: -40}, noShift, []int64{10}, 0, ""},
		{"shift back past the log start", resetSpec{kind: resetShift, n: -1000}, noShift, []int64{10}, 1, ""},
		{"shift past the log end", resetSpec{kind: resetShift, n: 1000}, noShift, []int64{100}, 1, ""},
		{"shift with nothing committed", resetSpec{kind: resetShift, n: 1}, parts, nil, 0, "cannot shift the offset of t-1"},
		{"no target", resetSpec{}, parts, nil, 0, "no reset target"},
	} {
		rows, warnings, err := planReset(tc.spec, tc.parts)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: error = %v, want %q", tc.name, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		var got []int64
		for i, r := range rows {
			if r.topic != tc.parts[i].topic || r.partition != tc.parts[i].partition {
				t.Errorf("%s: row %d is %s-%d, want %s-%d", tc.name, i, r.topic, r.partition, tc.parts[i].topic, tc.parts[i].partition)
			}
			got = append(got, r.newOffset)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s: new offsets %v, want %v", tc.name, got, tc.want)
		}
		if len(warnings) != tc.warnings {
			t.Errorf("%s: warnings %q, want %d", tc.name, warnings, tc.warnings)
		}
	}
}

func TestPlanResetWarningText(t *testing.T) {
	_, warnings, err := planReset(resetSpec{kind: resetOffset, n: 500},
		[]partitionOffsets{{topic: "orders", partition: 3, committed: -1, start: 0, end: 42, byTime: -1}})
	want := "New offset (500) is higher than latest offset for topic partition orders-3. Value will be set to 42"
	if err != nil || len(warnings) != 1 || warnings[0] != want {
		t.Errorf("warnings = %q, %v; want [%q]", warnings, err, want)
	}
}

func commitsOf(os ...kadm.OffsetResponse) kadm.OffsetResponses {
	out := make(kadm.OffsetResponses)
	for _, o := range os {
		if out[o.Topic] == nil {
			out[o.Topic] = make(map[int32]kadm.OffsetResponse)
		}
		out[o.Topic][o.Partition] = o
	}
	return out
}

func TestOffsetRows(t *testing.T) {
	members := []memberView{
		{id: "m-2", host: "/10.0.0.2", clientID: "c2", parts: map[string][]int32{"b": {0}, "a": {1}}},
		{id: "m-1", host: "/10.0.0.1", clientID: "c1", parts: map[string][]int32{"a": {0, 2}}},
	}
	commits := commitsOf(
		kadm.OffsetResponse{Offset: kadm.Offset{Topic: "a", Partition: 0, At: 5}},
		kadm.OffsetResponse{Offset: kadm.Offset{Topic: "a", Partition: 1, At: -1}},                              // nothing committed
		kadm.OffsetResponse{Offset: kadm.Offset{Topic: "a", Partition: 2, At: 9}, Err: kerr.UnknownServerError}, // unreadable
		kadm.OffsetResponse{Offset: kadm.Offset{Topic: "c", Partition: 4, At: 7}},                               // committed, not assigned
		kadm.OffsetResponse{Offset: kadm.Offset{Topic: "c", Partition: 5, At: 9}},                               // committed past the log end
	)
	rows := offsetRows(members, commits)
	ends := kadm.ListedOffsets{
		"a": {0: {Topic: "a", Partition: 0, Offset: 8}, 1: {Topic: "a", Partition: 1, Offset: 3}},
		"c": {4: {Topic: "c", Partition: 4, Err: kerr.NotLeaderForPartition}, 5: {Topic: "c", Partition: 5, Offset: 2}},
		"b": {0: {Topic: "b", Partition: 0, Offset: 0}},
	}
	fillEnds(rows, ends)
	var got []string
	for _, r := range rows {
		got = append(got, strings.Join([]string{r.topic, optOffset(int64(r.partition)), optOffset(r.current),
			optOffset(r.end), r.lagText(), r.consumerID, r.host, r.clientID}, " "))
	}
	want := []string{
		"a 0 5 8 3 m-1 /10.0.0.1 c1",
		"a 1 - 3 - m-2 /10.0.0.2 c2",
		"a 2 - - - m-1 /10.0.0.1 c1",
		"b 0 - 0 - m-2 /10.0.0.2 c2",
		"c 4 7 - - - - -",
		"c 5 9 2 -7 - - -",
	}
	if !slices.Equal(got, want) {
		t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if ts := rowTopics(rows); !slices.Equal(ts, []string{"a", "b", "c"}) {
		t.Errorf("rowTopics = %q", ts)
	}
}

func TestFormatAssignment(t *testing.T) {
	for _, tc := range []struct {
		in   map[string][]int32
		want string
	}{
		{nil, "-"},
		{map[string][]int32{"x": {}}, "-"},
		{map[string][]int32{"b": {3}, "a": {0, 1}}, "a(0,1),b(3)"},
	} {
		if got := formatAssignment(tc.in); got != tc.want {
			t.Errorf("formatAssignment(%v) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestGroupErr(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{kerr.GroupIDNotFound, `consumer group "g" does not exist`},
		{kerr.NonEmptyGroup, `cannot delete consumer group "g": it has active members`},
		{kerr.CoordinatorNotAvailable, `delete consumer group "g": COORDINATOR_NOT_AVAILABLE`},
	} {
		if got := groupErr("delete", "g", tc.err, "").Error(); !strings.Contains(got, tc.want) {
			t.Errorf("groupErr(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
