package main

// output.go renders what the client commands print: topic descriptions in
// kafka-topics.sh's layout, and consumed records either as text in
// kafka-console-consumer.sh's layout (DefaultMessageFormatter) or as one
// JSON object per line.

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// topicView is one topic as `topic describe` prints it.
type topicView struct {
	name       string
	id         kadm.TopicID
	err        error // the topic's metadata error, if any (e.g. LEADER_NOT_AVAILABLE)
	partitions []partitionView
	configs    []kadm.Config // sorted by key
	configErr  error
}

type partitionView struct {
	detail     kadm.PartitionDetail
	start, end int64 // log start offset and high watermark; -1 when offErr != nil
	offErr     error
	// adding, removing: the replicas a reassignment in progress is adding
	// and will remove (ListPartitionReassignments); empty otherwise.
	adding, removing []int32
}

// underReplicated: fewer replicas in sync than assigned.
func (p partitionView) underReplicated() bool {
	return len(p.detail.ISR) < len(p.detail.Replicas)
}

// unavailable: no leader, or the leader is offline.
func (p partitionView) unavailable() bool {
	d := p.detail
	return d.Leader < 0 || slices.Contains(d.OfflineReplicas, d.Leader)
}

// kafkaTopicID renders a topic id as Kafka does (Uuid.toString: URL-safe
// base64 without padding), so ids can be compared with Kafka's tools.
func kafkaTopicID(id kadm.TopicID) string {
	return base64.RawURLEncoding.EncodeToString(id[:])
}

func joinInt32s(xs []int32) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = strconv.Itoa(int(x))
	}
	return strings.Join(parts, ",")
}

// writeTopicDescription prints v in kafka-topics.sh --describe's layout:
// a tab-separated "Key: value" line for the topic, then one indented line
// per partition, with offsets appended.
func writeTopicDescription(w io.Writer, v topicView) {
	writeTopicHeader(w, v)
	for _, p := range v.partitions {
		writePartitionLine(w, v.name, p)
	}
}

func writeTopicHeader(w io.Writer, v topicView) {
	rf := 0
	if len(v.partitions) > 0 {
		// As Kafka does: the replica count of the first partition.
		rf = len(v.partitions[0].detail.Replicas)
	}
	fmt.Fprintf(w, "Topic: %s\tTopicId: %s\tPartitionCount: %d\tReplicationFactor: %d\tConfigs: %s",
		v.name, kafkaTopicID(v.id), len(v.partitions), rf, formatConfigs(v.configs, v.configErr))
	if v.err != nil {
		fmt.Fprintf(w, "\tError: %v", v.err)
	}
	fmt.Fprintln(w)
}

// writePartitionLine prints one partition as kafka-topics.sh --describe
// does (Adding/Removing Replicas only while a reassignment runs), with
// its offsets appended.
func writePartitionLine(w io.Writer, topic string, p partitionView) {
	d := p.detail
	fmt.Fprintf(w, "\tTopic: %s\tPartition: %d", topic, d.Partition)
	if d.Err != nil {
		fmt.Fprintf(w, "\tError: %v", d.Err)
	}
	leader := "none"
	if d.Leader >= 0 {
		leader = strconv.Itoa(int(d.Leader))
	}
	fmt.Fprintf(w, "\tLeader: %s\tReplicas: %s\tIsr: %s", leader, joinInt32s(d.Replicas), joinInt32s(d.ISR))
	if len(p.adding) > 0 {
		fmt.Fprintf(w, "\tAdding Replicas: %s", joinInt32s(p.adding))
	}
	if len(p.removing) > 0 {
		fmt.Fprintf(w, "\tRemoving Replicas: %s", joinInt32s(p.removing))
	}
	if len(d.OfflineReplicas) > 0 {
		fmt.Fprintf(w, "\tOffline: %s", joinInt32s(d.OfflineReplicas))
	}
	if p.offErr != nil {
		fmt.Fprintf(w, "\tOffsets: %v\n", p.offErr)
	} else {
		fmt.Fprintf(w, "\tLogStartOffset: %d\tHighWatermark: %d\n", p.start, p.end)
	}
}

// formatConfigs renders "k=v,k2=v2" as kafka-topics.sh does; sensitive
// values are masked.
func formatConfigs(cfgs []kadm.Config, err error) string {
	if err != nil {
		return "(unavailable: " + err.Error() + ")"
	}
	parts := make([]string, 0, len(cfgs))
	for _, c := range cfgs {
		val := c.MaybeValue()
		if c.Sensitive {
			val = "******"
		}
		parts = append(parts, c.Key+"="+val)
	}
	return strings.Join(parts, ",")
}

// textFormat is kafka-console-consumer's DefaultMessageFormatter: the
// enabled fields in the order timestamp, partition, offset, headers, key,
// value, each separated by sep (Kafka's key.separator), then lineSep.
type textFormat struct {
	printTimestamp bool
	printPartition bool
	printOffset    bool
	printHeaders   bool
	printKey       bool
	printValue     bool
	sep            string // between fields; Kafka's key.separator, default "\t"
	lineSep        string // after each record; default "\n"
	headersSep     string // between headers; default ","
	nullLiteral    string // printed for a null key, value or header value; default "null"
}

func (f *textFormat) appendRecord(b []byte, r *kgo.Record) []byte {
	first := true
	field := func() {
		if !first {
			b = append(b, f.sep...)
		}
		first = false
	}
	if f.printTimestamp {
		field()
		if r.Attrs.TimestampType() < 0 {
			b = append(b, "NO_TIMESTAMP"...)
		} else {
			b = append(b, timestampType(r)...)
			b = append(b, ':')
			b = strconv.AppendInt(b, r.Timestamp.UnixMilli(), 10)
		}
	}
	if f.printPartition {
		field()
		b = append(b, "Partition:"...)
		b = strconv.AppendInt(b, int64(r.Partition), 10)
	}
	if f.printOffset {
		field()
		b = append(b, "Offset:"...)
		b = strconv.AppendInt(b, r.Offset, 10)
	}
	if f.printHeaders {
		field()
		if len(r.Headers) == 0 {
			b = append(b, "NO_HEADERS"...)
		}
		for i, h := range r.Headers {
			if i > 0 {
				b = append(b, f.headersSep...)
			}
			b = append(b, h.Key...)
			b = append(b, ':')
			b = f.appendNullable(b, h.Value)
		}
	}
	if f.printKey {
		field()
		b = f.appendNullable(b, r.Key)
	}
	if f.printValue {
		field()
		b = f.appendNullable(b, r.Value)
	}
	return append(b, f.lineSep...)
}

func (f *textFormat) appendNullable(b, v []byte) []byte {
	if v == nil {
		return append(b, f.nullLiteral...)
	}
	return append(b, v...)
}

// timestampType names the record's timestamp type as Kafka's
// TimestampType does.
func timestampType(r *kgo.Record) string {
	switch r.Attrs.TimestampType() {
	case 1:
		return "LogAppendTime"
	case -1:
		return "NoTimestampType" // only in pre-0.10 message sets
	}
	return "CreateTime"
}

// jsonRecord is one line of `consume --format json`. Keys, values and
// header values that are valid UTF-8 are JSON strings; other bytes are
// standard base64 with the matching *_encoding field set to "base64"
// (absent otherwise). A null key or value is JSON null; an empty one is "".
type jsonRecord struct {
	Topic         string       `json:"topic"`
	Partition     int32        `json:"partition"`
	Offset        int64        `json:"offset"`
	Timestamp     int64        `json:"timestamp"` // milliseconds since the Unix epoch
	TimestampType string       `json:"timestamp_type"`
	Key           *string      `json:"key"`
	KeyEncoding   string       `json:"key_encoding,omitempty"`
	Value         *string      `json:"value"`
	ValueEncoding string       `json:"value_encoding,omitempty"`
	Headers       []jsonHeader `json:"headers"` // in record order; keys may repeat
}

type jsonHeader struct {
	Key           string  `json:"key"`
	Value         *string `json:"value"`
	ValueEncoding string  `json:"value_encoding,omitempty"`
}

// jsonBytes encodes b for jsonRecord: nil stays null, UTF-8 stays text,
// anything else becomes base64 and says so.
func jsonBytes(b []byte) (*string, string) {
	if b == nil {
		return nil, ""
	}
	if utf8.Valid(b) {
		s := string(b)
		return &s, ""
	}
	s := base64.StdEncoding.EncodeToString(b)
	return &s, "base64"
}

func toJSONRecord(r *kgo.Record) jsonRecord {
	j := jsonRecord{
		Topic:         r.Topic,
		Partition:     r.Partition,
		Offset:        r.Offset,
		Timestamp:     r.Timestamp.UnixMilli(),
		TimestampType: timestampType(r),
		Headers:       make([]jsonHeader, 0, len(r.Headers)),
	}
	j.Key, j.KeyEncoding = jsonBytes(r.Key)
	j.Value, j.ValueEncoding = jsonBytes(r.Value)
	for _, h := range r.Headers {
		jh := jsonHeader{Key: h.Key}
		jh.Value, jh.ValueEncoding = jsonBytes(h.Value)
		j.Headers = append(j.Headers, jh)
	}
	return j
}

// newJSONEncoder writes one compact object per line; HTML escaping is off
// so that "<" in a value stays "<".
func newJSONEncoder(w io.Writer) *json.Encoder {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc
}
