package handlers

// DescribeLogDirs (key 35), v0–v4 (KIP-113; total and usable bytes from
// v4, KIP-827). The broker has one log directory (log.dirs), reported as
// an absolute path, with the on-disk size of each requested partition
// (every partition when the topic list is null). Offset lag is 0 and
// IsFuture false: there are no replica moves between directories.
// Partitions this broker does not hold are left out, as in Kafka; unlike
// Kafka, a topic none of whose requested partitions is here is left out
// too rather than listed with no partitions. Disk space that cannot be
// read is -1, Kafka's "unknown".

import (
	"cmp"
	"context"
	"path/filepath"
	"slices"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/strata-io/strata/internal/partition"
)

func init() {
	register(API{Key: 35, MinVersion: 0, MaxVersion: 4, Handle: describeLogDirs})
}

func describeLogDirs(_ context.Context, env *Env, req *Request) (kmsg.Response, error) {
	r := req.Body.(*kmsg.DescribeLogDirsRequest)
	resp := r.ResponseKind().(*kmsg.DescribeLogDirsResponse)

	dir := env.Logs.Dir()
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	d := kmsg.NewDescribeLogDirsResponseDir()
	d.Dir = dir
	d.TotalBytes, d.UsableBytes = diskSpace(dir)

	var wanted map[partition.Key]bool // nil: all
	if r.Topics != nil {
		wanted = map[partition.Key]bool{}
		for _, t := range r.Topics {
			for _, p := range t.Partitions {
				wanted[partition.Key{Topic: t.Topic, Index: p}] = true
			}
		}
	}
	keys := env.Parts.Keys()
	slices.SortFunc(keys, func(a, b partition.Key) int {
		return cmp.Or(cmp.Compare(a.Topic, b.Topic), cmp.Compare(a.Index, b.Index))
	})
	for _, k := range keys {
		if wanted != nil && !wanted[k] {
			continue
		}
		p := env.Parts.Get(k.Topic, k.Index)
		if p == nil { // removed meanwhile
			continue
		}
		if n := len(d.Topics); n == 0 || d.Topics[n-1].Topic != k.Topic {
			t := kmsg.NewDescribeLogDirsResponseDirTopic()
			t.Topic = k.Topic
			d.Topics = append(d.Topics, t)
		}
		dp := kmsg.NewDescribeLogDirsResponseDirTopicPartition()
		dp.Partition = k.Index
		dp.Size = p.Log().Size()
		t := &d.Topics[len(d.Topics)-1]
		t.Partitions = append(t.Partitions, dp)
	}
	resp.Dirs = append(resp.Dirs, d)
	return resp, nil
}
