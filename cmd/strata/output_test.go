package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

func testRecord() *kgo.Record {
	return &kgo.Record{
		Topic:     "t",
		Partition: 2,
		Offset:    41,
		Timestamp: time.UnixMilli(1714564800123),
		Key:       []byte("k"),
		Value:     []byte("v"),
		Headers: []kgo.RecordHeader{
			{Key: "h1", Value: []byte("x")},
			{Key: "h2", Value: nil},
		},
	}
}

func TestTextFormat(t *testing.T) {
	def := textFormat{printValue: true, sep: "\t", lineSep: "\n", headersSep: ",", nullLiteral: "null"}
	all := def
	all.printTimestamp, all.printPartition, all.printOffset, all.printHeaders, all.printKey = true, true, true, true, true

	nullKey := testRecord()
	nullKey.Key, nullKey.Value, nullKey.Headers = nil, nil, nil
	appendTime := withLogAppendTime(testRecord())
	noTime := testRecord()
	noTime.Attrs = kgo.NewRecordAttrs(kgo.RecordAttrsOpts{TimestampType: -1})

	for _, tc := range []struct {
		name string
		f    textFormat
		mod  func(*textFormat)
		r    *kgo.Record
		want string
	}{
		{name: "value only", f: def, r: testRecord(), want: "v\n"},
		{name: "key", f: def, mod: func(f *textFormat) { f.printKey = true }, r: testRecord(), want: "k\tv\n"},
		{name: "everything, Kafka's order", f: all, r: testRecord(),
			want: "CreateTime:1714564800123\tPartition:2\tOffset:41\th1:x,h2:null\tk\tv\n"},
		{name: "custom separators", f: all, mod: func(f *textFormat) {
			f.sep, f.lineSep, f.headersSep, f.nullLiteral = " | ", ";", "&", "-"
		}, r: testRecord(), want: "CreateTime:1714564800123 | Partition:2 | Offset:41 | h1:x&h2:- | k | v;"},
		{name: "nulls and no headers", f: all, r: nullKey,
			want: "CreateTime:1714564800123\tPartition:2\tOffset:41\tNO_HEADERS\tnull\tnull\n"},
		{name: "no value", f: def, mod: func(f *textFormat) { f.printKey, f.printValue = true, false }, r: testRecord(), want: "k\n"},
		{name: "nothing at all", f: def, mod: func(f *textFormat) { f.printValue = false }, r: testRecord(), want: "\n"},
		{name: "log append time", f: def, mod: func(f *textFormat) { f.printTimestamp, f.printValue = true, false }, r: appendTime,
			want: "LogAppendTime:1714564800123\n"},
		{name: "no timestamp (v0 message)", f: def, mod: func(f *textFormat) { f.printTimestamp, f.printValue = true, false }, r: noTime,
			want: "NO_TIMESTAMP\n"},
		{name: "binary passes through", f: def, r: &kgo.Record{Value: []byte{0xff, 0x00, 'a'}}, want: "\xff\x00a\n"},
	} {
		f := tc.f
		if tc.mod != nil {
			tc.mod(&f)
		}
		if got := string(f.appendRecord(nil, tc.r)); got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, got, tc.want)
		}
	}
}

func withLogAppendTime(r *kgo.Record) *kgo.Record {
	cp := *r
	cp.Attrs = kgo.NewRecordAttrs(kgo.RecordAttrsOpts{TimestampType: 1})
	return &cp
}

func TestJSONFormat(t *testing.T) {
	binKey := testRecord()
	binKey.Key = []byte{0xff, 0xfe}
	binKey.Value = []byte("<é & \"q\">\n")
	binKey.Headers = []kgo.RecordHeader{{Key: "b", Value: []byte{0x80}}, {Key: "e", Value: []byte{}}}
	tomb := testRecord()
	tomb.Key, tomb.Value, tomb.Headers = []byte{}, nil, nil

	for _, tc := range []struct {
		name string
		r    *kgo.Record
		want string
	}{
		{name: "text", r: testRecord(),
			want: `{"topic":"t","partition":2,"offset":41,"timestamp":1714564800123,"timestamp_type":"CreateTime","key":"k","value":"v","headers":[{"key":"h1","value":"x"},{"key":"h2","value":null}]}`},
		{name: "binary and escapes", r: binKey,
			want: `{"topic":"t","partition":2,"offset":41,"timestamp":1714564800123,"timestamp_type":"CreateTime","key":"//4=","key_encoding":"base64","value":"<é & \"q\">\n","headers":[{"key":"b","value":"gA==","value_encoding":"base64"},{"key":"e","value":""}]}`},
		{name: "empty key, null value, no headers", r: tomb,
			want: `{"topic":"t","partition":2,"offset":41,"timestamp":1714564800123,"timestamp_type":"CreateTime","key":"","value":null,"headers":[]}`},
		{name: "log append time", r: withLogAppendTime(tomb),
			want: `{"topic":"t","partition":2,"offset":41,"timestamp":1714564800123,"timestamp_type":"LogAppendTime","key":"","value":null,"headers":[]}`},
	} {
		var buf bytes.Buffer
		if err := newJSONEncoder(&buf).Encode(toJSONRecord(tc.r)); err != nil {
			t.Fatal(err)
		}
		if got := buf.String(); got != tc.want+"\n" {
			t.Errorf("%s:\n got %s\nwant %s", tc.name, got, tc.want)
		}
	}
}

func TestWriteTopicDescription(t *testing.T) {
	val := func(s string) *string { return &s }
	id := kadm.TopicID{0x01, 0x02, 0xfb, 0xff}
	v := topicView{
		name: "orders",
		id:   id,
		partitions: []partitionView{
			{detail: kadm.PartitionDetail{Partition: 0, Leader: 1, Replicas: []int32{1, 2, 3}, ISR: []int32{1, 2}}, start: 0, end: 10},
			{detail: kadm.PartitionDetail{Partition: 1, Leader: -1, Replicas: []int32{2, 3, 1}, ISR: []int32{}, OfflineReplicas: []int32{2}},
				offErr: errors.New("LEADER_NOT_AVAILABLE")},
		},
		configs: []kadm.Config{
			{Key: "cleanup.policy", Value: val("compact")},
			{Key: "sasl.secret", Sensitive: true},
		},
	}
	var buf bytes.Buffer
	writeTopicDescription(&buf, v)
	want := strings.Join([]string{
		"Topic: orders\tTopicId: AQL7_wAAAAAAAAAAAAAAAA\tPartitionCount: 2\tReplicationFactor: 3\tConfigs: cleanup.policy=compact,sasl.secret=******",
		"\tTopic: orders\tPartition: 0\tLeader: 1\tReplicas: 1,2,3\tIsr: 1,2\tLogStartOffset: 0\tHighWatermark: 10",
		"\tTopic: orders\tPartition: 1\tLeader: none\tReplicas: 2,3,1\tIsr: \tOffline: 2\tOffsets: LEADER_NOT_AVAILABLE",
		"",
	}, "\n")
	if got := buf.String(); got != want {
		t.Errorf("got:\n%s\nwant:\n%s", got, want)
	}

	buf.Reset()
	writeTopicDescription(&buf, topicView{name: "x", configErr: errors.New("boom"), err: errors.New("LEADER_NOT_AVAILABLE")})
	if got, want := buf.String(), "Topic: x\tTopicId: AAAAAAAAAAAAAAAAAAAAAA\tPartitionCount: 0\tReplicationFactor: 0\tConfigs: (unavailable: boom)\tError: LEADER_NOT_AVAILABLE\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}
