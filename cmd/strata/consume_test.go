package main

import (
	"slices"
	"strings"
	"testing"
)

func TestParseOffsetFlag(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want startSpec
		ok   bool
	}{
		{"earliest", startSpec{kind: startEarliest}, true},
		{"latest", startSpec{kind: startLatest}, true},
		{"0", startSpec{kind: startExact, at: 0}, true},
		{"42", startSpec{kind: startExact, at: 42}, true},
		{"-1", startSpec{}, false},
		{"-2", startSpec{}, false},
		{"Earliest", startSpec{}, false},
		{"", startSpec{}, false},
		{"1.5", startSpec{}, false},
	} {
		got, err := parseOffsetFlag(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseOffsetFlag(%q) = %+v, %v; want %+v ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestParseTimestampFlag(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true},
		{"1714564800123", 1714564800123, true},
		{"2024-05-01T12:00:00Z", 1714564800000, true},
		{"2024-05-01T14:00:00.123+02:00", 1714564800123, true},
		{"-5", 0, false},
		{"2024-05-01", 0, false},
		{"yesterday", 0, false},
	} {
		got, err := parseTimestampFlag(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseTimestampFlag(%q) = %d, %v; want %d ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestParseAssignors(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string // protocol names, in order
		err  string
	}{
		{"cooperative-sticky,range", []string{"cooperative-sticky", "range"}, ""},
		{"range", []string{"range"}, ""},
		{" roundrobin , sticky ", []string{"roundrobin", "sticky"}, ""},
		{"org.apache.kafka.clients.consumer.RangeAssignor,CooperativeStickyAssignor", []string{"range", "cooperative-sticky"}, ""},
		{"range,range", nil, "range given twice"},
		{"uniform", nil, `"uniform"`},
		{"", nil, `""`},
		{"range,", nil, `""`},
	} {
		got, err := parseAssignors(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("parseAssignors(%q) error = %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		var names []string
		for _, b := range got {
			names = append(names, b.ProtocolName())
		}
		if err != nil || !slices.Equal(names, tc.want) {
			t.Errorf("parseAssignors(%q) = %q, %v; want %q", tc.in, names, err, tc.want)
		}
	}
}
