package config

import (
	"errors"
	"strings"
	"testing"
)

func TestTopicConfigValidation(t *testing.T) {
	cases := []struct {
		name, value string
		wantErr     error
	}{
		{RetentionMs, "1000", nil},
		{RetentionMs, "-1", nil},
		{RetentionMs, "-2", ErrInvalid},
		{RetentionMs, "soon", ErrInvalid},
		{SegmentBytes, "65536", nil},
		{SegmentBytes, "3000000000", ErrInvalid},
		{MaxMessageBytes, "12abc", ErrInvalid},
		{MessageTimestampTyp, "LogAppendTime", nil},
		{MessageTimestampTyp, "Sometime", ErrInvalid},
		{CleanupPolicy, "delete", nil},
		{CleanupPolicy, "compact", nil},
		{CleanupPolicy, "delete,compact", nil},
		{CleanupPolicy, "compact, delete", nil},
		{CleanupPolicy, "compact,shred", ErrInvalid},
		{MinCleanableRatio, "0.1", nil},
		{MinCleanableRatio, "1.5", ErrInvalid},
		{MinCleanableRatio, "-0.1", ErrInvalid},
		{MinCleanableRatio, "NaN", ErrInvalid},
		{DeleteRetentionMs, "0", nil},
		{DeleteRetentionMs, "-1", ErrInvalid},
		{MaxCompactionLagMs, "0", ErrInvalid},
		{MinCompactionLagMs, "100", nil},
		{CleanupPolicy, "shred", ErrInvalid},
		{MinInsyncReplicas, "0", ErrInvalid},
		{FlushMessages, "1", nil},
		{"no.such.config", "1", ErrUnknown},
	}
	for _, tc := range cases {
		err := ValidateTopicConfigs(map[string]string{tc.name: tc.value})
		if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
			t.Errorf("%s=%s: got %v, want %v", tc.name, tc.value, err, tc.wantErr)
		}
		if err != nil && !strings.Contains(err.Error(), tc.name) {
			t.Errorf("%s=%s: error %q does not name the config", tc.name, tc.value, err)
		}
	}
}

func TestBrokerDefaultsAndResolution(t *testing.T) {
	b, err := NewBroker(nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := b.ListenAddr(); got != "127.0.0.1:9092" {
		t.Errorf("listen %q", got)
	}
	if got := b.DataDir(); got != "./data" {
		t.Errorf("data dir %q", got)
	}
	if got := b.RetentionMs(); got != 168*3600000 {
		t.Errorf("retention %d", got)
	}
	tc := b.Topic(nil)
	if tc.Get(RetentionMs) != "604800000" || tc.Get(MaxMessageBytes) != "1048588" || tc.Get(CleanupPolicy) != "delete" {
		t.Errorf("topic defaults: %v", tc.values)
	}
	// minutes override hours, ms overrides minutes, as in Kafka.
	b, _ = NewBroker(map[string]string{"log.retention.hours": "1", "log.retention.minutes": "2"})
	if b.RetentionMs() != 120000 {
		t.Errorf("minutes did not override hours: %d", b.RetentionMs())
	}
	b, _ = b.With(map[string]string{"log.retention.ms": "5"})
	if b.RetentionMs() != 5 || b.Topic(nil).Get(RetentionMs) != "5" {
		t.Errorf("ms did not override: %d", b.RetentionMs())
	}
	tc = b.Topic(map[string]string{RetentionMs: "7"})
	if tc.Get(RetentionMs) != "7" || !tc.IsOverride(RetentionMs) || tc.IsOverride(SegmentBytes) {
		t.Errorf("topic override not applied")
	}
	if _, err := NewBroker(map[string]string{"num.partitions": "zero"}); !errors.Is(err, ErrInvalid) {
		t.Errorf("garbage num.partitions accepted: %v", err)
	}
	if _, err := NewBroker(map[string]string{"no.such": "1"}); !errors.Is(err, ErrUnknown) {
		t.Errorf("unknown config accepted: %v", err)
	}
	b, _ = NewBroker(map[string]string{"broker.id": "7", "advertised.listeners": "PLAINTEXT://h:1"})
	if b.NodeID() != 7 || b.AdvertisedAddr() != "h:1" {
		t.Errorf("aliases: node %d advertised %q", b.NodeID(), b.AdvertisedAddr())
	}
}

func TestFromEnv(t *testing.T) {
	got := FromEnv([]string{
		"STRATA_LOG_RETENTION_HOURS=24",
		"STRATA_NUM_PARTITIONS=3",
		"STRATA_BOOTSTRAP_SERVER=x:1", // a CLI variable, not a broker config
		"PATH=/bin",
		"STRATA_BROKER_ID=4",
	})
	want := map[string]string{"log.retention.hours": "24", "num.partitions": "3", "node.id": "4"}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if envToName("A__B___C_D") != "a_b-c.d" {
		t.Errorf("envToName: %q", envToName("A__B___C_D"))
	}
}

func TestParseProperties(t *testing.T) {
	in := "# comment\n! also\n\nnum.partitions=3\nlog.dirs : /tmp/x \nbad line\n"
	if _, err := ParseProperties(strings.NewReader(in)); err == nil {
		t.Fatal("bad line accepted")
	}
	m, err := ParseProperties(strings.NewReader("num.partitions=3\nlog.dirs : /tmp/x \n"))
	if err != nil {
		t.Fatal(err)
	}
	if m["num.partitions"] != "3" || m["log.dirs"] != "/tmp/x" {
		t.Fatalf("%v", m)
	}
}

func TestCleanerBrokerConfigs(t *testing.T) {
	b, err := NewBroker(nil)
	if err != nil {
		t.Fatal(err)
	}
	if !b.Bool(LogCleanerEnable) || b.Int(LogCleanerBackoffMs) != 15000 || b.Int(LogCleanerDedupeBufferSize) != 128<<20 {
		t.Fatalf("cleaner defaults: enable %v backoff %d buffer %d", b.Bool(LogCleanerEnable), b.Int(LogCleanerBackoffMs), b.Int(LogCleanerDedupeBufferSize))
	}
	tc := b.Topic(nil)
	if tc.Int(DeleteRetentionMs) != 86400000 || tc.Float(MinCleanableRatio) != 0.5 || tc.Int(MinCompactionLagMs) != 0 {
		t.Fatalf("topic defaults: %v", tc.values)
	}
	// The broker's log.cleaner.* settings are the topic defaults.
	b, err = NewBroker(map[string]string{LogCleanerMinCleanableRatio: "0.25", LogCleanerDeleteRetentionMs: "5", "log.cleanup.policy": "compact,delete"})
	if err != nil {
		t.Fatal(err)
	}
	tc = b.Topic(map[string]string{MinCompactionLagMs: "7"})
	if tc.Float(MinCleanableRatio) != 0.25 || tc.Int(DeleteRetentionMs) != 5 || tc.Int(MinCompactionLagMs) != 7 || tc.Get(CleanupPolicy) != "compact,delete" {
		t.Fatalf("synonyms: %v", tc.values)
	}
	for _, bad := range []map[string]string{
		{LogCleanerThreads: "2"},
		{LogCleanerMinCleanableRatio: "2"},
		{LogCleanerBackoffMs: "-1"},
		{"log.cleanup.policy": "squash"},
	} {
		if _, err := NewBroker(bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("%v accepted: %v", bad, err)
		}
	}
}
