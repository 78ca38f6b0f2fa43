package bench

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

func TestParseAcks(t *testing.T) {
	for _, tc := range []struct {
		in         string
		want       kgo.Acks
		idempotent bool
		ok         bool
	}{
		{"all", kgo.AllISRAcks(), true, true},
		{"-1", kgo.AllISRAcks(), true, true},
		{"1", kgo.LeaderAck(), false, true},
		{"0", kgo.NoAck(), false, true},
		{"2", kgo.Acks{}, false, false},
		{"ALL", kgo.Acks{}, false, false},
		{"", kgo.Acks{}, false, false},
	} {
		got, idem, err := ParseAcks(tc.in)
		if (err == nil) != tc.ok || got != tc.want || idem != tc.idempotent {
			t.Errorf("ParseAcks(%q) = %v, %v, %v", tc.in, got, idem, err)
		}
	}
}

func TestParseCompression(t *testing.T) {
	for _, ok := range []string{"none", "gzip", "snappy", "lz4", "zstd"} {
		if _, err := ParseCompression(ok); err != nil {
			t.Errorf("ParseCompression(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "brotli", "GZIP", "producer"} {
		if _, err := ParseCompression(bad); err == nil {
			t.Errorf("ParseCompression(%q) accepted", bad)
		}
	}
}
