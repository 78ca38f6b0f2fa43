package config

import (
	"errors"
	"testing"
)

func TestGroupConfigDefaults(t *testing.T) {
	b, err := NewBroker(nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{
		GroupMinSessionTimeoutMs:            6000,
		GroupMaxSessionTimeoutMs:            1800000,
		GroupInitialRebalanceDelayMs:        3000,
		GroupMaxSize:                        2147483647,
		OffsetsTopicNumPartitions:           50,
		OffsetsTopicReplicationFactor:       3,
		OffsetsTopicSegmentBytes:            104857600,
		OffsetsTopicCompressionCodec:        0,
		OffsetsRetentionMinutes:             10080,
		OffsetsRetentionCheckMs:             600000,
		OffsetMetadataMaxBytes:              4096,
		OffsetsCommitTimeoutMs:              5000,
		GroupConsumerSessionTimeoutMs:       45000,
		GroupConsumerMinSessionTimeoutMs:    45000,
		GroupConsumerMaxSessionTimeoutMs:    60000,
		GroupConsumerHeartbeatIntervalMs:    5000,
		GroupConsumerMinHeartbeatIntervalMs: 5000,
		GroupConsumerMaxHeartbeatIntervalMs: 15000,
	}
	for name, v := range want {
		if got := b.Int(name); got != v {
			t.Errorf("%s = %d, want %d", name, got, v)
		}
	}
	if !b.RebalanceProtocolEnabled("classic") || !b.RebalanceProtocolEnabled("consumer") {
		t.Errorf("both protocols should be enabled by default: %q", b.Str(GroupRebalanceProtocols))
	}
	if got := b.OffsetsRetentionMs(); got != 7*24*3600*1000 {
		t.Errorf("retention %d ms", got)
	}
}

func TestGroupConfigValidation(t *testing.T) {
	cases := []struct {
		set map[string]string
		ok  bool
	}{
		{map[string]string{GroupRebalanceProtocols: "classic"}, true},
		{map[string]string{GroupRebalanceProtocols: "classic,share"}, false},
		{map[string]string{GroupRebalanceProtocols: "consumer"}, false},
		{map[string]string{GroupConsumerAssignors: "range"}, true},
		{map[string]string{GroupConsumerAssignors: "sticky"}, false},
		{map[string]string{OffsetsTopicCompressionCodec: "5"}, false},
		{map[string]string{OffsetsTopicNumPartitions: "0"}, false},
		{map[string]string{GroupMinSessionTimeoutMs: "7000", GroupMaxSessionTimeoutMs: "6000"}, false},
		{map[string]string{GroupConsumerSessionTimeoutMs: "30000"}, false}, // below the 45 s minimum
		{map[string]string{GroupConsumerSessionTimeoutMs: "30000", GroupConsumerMinSessionTimeoutMs: "10000"}, true},
		{map[string]string{GroupConsumerHeartbeatIntervalMs: "50000", GroupConsumerMaxHeartbeatIntervalMs: "60000", GroupConsumerSessionTimeoutMs: "50000", GroupConsumerMaxSessionTimeoutMs: "60000"}, false},
	}
	for _, tc := range cases {
		_, err := NewBroker(tc.set)
		if tc.ok != (err == nil) {
			t.Errorf("%v: err %v, want ok=%v", tc.set, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("%v: %v does not wrap ErrInvalid", tc.set, err)
		}
	}
}
