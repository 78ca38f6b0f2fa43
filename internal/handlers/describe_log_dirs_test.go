package handlers_test

import (
	"bytes"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/strata-io/strata/internal/brokertest"
)

// describeLogDirs sends DescribeLogDirs for topics (nil: all) and returns
// the one directory's sizes by topic and partition.
func (e *admEnv) describeLogDirs(topics []kmsg.DescribeLogDirsRequestTopic) (kmsg.DescribeLogDirsResponseDir, map[string]map[int32]int64) {
	e.t.Helper()
	req := kmsg.NewPtrDescribeLogDirsRequest()
	req.Topics = topics
	resp := e.request(req).(*kmsg.DescribeLogDirsResponse)
	if resp.ErrorCode != 0 || len(resp.Dirs) != 1 || resp.Dirs[0].ErrorCode != 0 {
		e.t.Fatalf("describe log dirs: error %d, dirs %+v", resp.ErrorCode, resp.Dirs)
	}
	d := resp.Dirs[0]
	sizes := map[string]map[int32]int64{}
	for _, t := range d.Topics {
		if sizes[t.Topic] != nil {
			e.t.Fatalf("topic %s listed twice", t.Topic)
		}
		sizes[t.Topic] = map[int32]int64{}
		for _, p := range t.Partitions {
			if p.OffsetLag != 0 || p.IsFuture {
				e.t.Errorf("%s/%d: offset lag %d, future %v; want 0, false", t.Topic, p.Partition, p.OffsetLag, p.IsFuture)
			}
			sizes[t.Topic][p.Partition] = p.Size
		}
	}
	return d, sizes
}

// storedBytes fetches topic/partition from its start and returns the
// number of stored batch bytes.
func (e *admEnv) storedBytes(topic string, partition int32) int64 {
	e.t.Helper()
	fp := e.fetch(topic, partition, 0)
	if fp.ErrorCode != 0 {
		e.t.Fatalf("fetch %s/%d: error %d", topic, partition, fp.ErrorCode)
	}
	return int64(len(fp.RecordBatches))
}

func TestDescribeLogDirs(t *testing.T) {
	dir := t.TempDir()
	b := brokertest.StartBroker(t, dir, nil)
	e := admConnect(t, b.Addr().String())
	e.createTopic("sized", 2, nil)
	e.createTopic("other", 1, nil)

	d, sizes := e.describeLogDirs(nil)
	if d.Dir != dir {
		t.Errorf("log dir %q, want %q", d.Dir, dir)
	}
	if d.TotalBytes <= 0 || d.UsableBytes < 0 || d.UsableBytes > d.TotalBytes {
		t.Errorf("total %d usable %d bytes; want total > 0 and 0 <= usable <= total", d.TotalBytes, d.UsableBytes)
	}
	want := map[string]map[int32]int64{"sized": {0: 0, 1: 0}, "other": {0: 0}}
	if !equalSizes(sizes, want) {
		t.Fatalf("sizes of new topics %v, want %v", sizes, want)
	}

	for range 20 {
		e.mustProduce("sized", 0, bytes.Repeat([]byte("v"), 1000))
	}
	e.mustProduce("other", 0, []byte("one"))
	_, sizes = e.describeLogDirs(nil)
	want = map[string]map[int32]int64{
		"sized": {0: e.storedBytes("sized", 0), 1: 0},
		"other": {0: e.storedBytes("other", 0)},
	}
	if want["sized"][0] <= 20*1000 {
		t.Fatalf("fetched only %d bytes of 20 records of 1000 bytes", want["sized"][0])
	}
	if !equalSizes(sizes, want) {
		t.Fatalf("sizes after producing %v, want the stored bytes %v", sizes, want)
	}

	// Only what is asked for; partitions not here are left out.
	rt := kmsg.NewDescribeLogDirsRequestTopic()
	rt.Topic, rt.Partitions = "sized", []int32{0, 5}
	missing := kmsg.NewDescribeLogDirsRequestTopic()
	missing.Topic, missing.Partitions = "missing", []int32{0}
	_, sizes = e.describeLogDirs([]kmsg.DescribeLogDirsRequestTopic{rt, missing})
	if !equalSizes(sizes, map[string]map[int32]int64{"sized": {0: want["sized"][0]}}) {
		t.Fatalf("sizes of sized/0, sized/5 and missing/0: %v, want only sized/0", sizes)
	}
	// An empty (not null) list asks for nothing.
	if _, sizes = e.describeLogDirs([]kmsg.DescribeLogDirsRequestTopic{}); len(sizes) != 0 {
		t.Fatalf("empty topic list described %v", sizes)
	}

	// Before v4 there are no disk totals on the wire.
	v := kversion.Stable()
	v.SetMaxKeyVersion(35, 3)
	e3 := admConnect(t, e.addr, kgo.MaxVersions(v))
	d3, _ := e3.describeLogDirs(nil)
	if d3.TotalBytes != -1 || d3.UsableBytes != -1 {
		t.Errorf("v3 response decoded total %d usable %d, want the -1 defaults", d3.TotalBytes, d3.UsableBytes)
	}
}

func equalSizes(a, b map[string]map[int32]int64) bool {
	if len(a) != len(b) {
		return false
	}
	for t, ps := range a {
		if len(ps) != len(b[t]) {
			return false
		}
		for p, n := range ps {
			if m, ok := b[t][p]; !ok || m != n {
				return false
			}
		}
	}
	return true
}
