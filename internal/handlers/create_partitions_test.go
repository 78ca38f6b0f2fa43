package handlers_test

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// createPartitions sends one CreatePartitions request straight to the
// broker.
//
// NB: not through kadm.UpdatePartitions, which sends CreatePartitions to
// the controller named by Metadata.
func (e *admEnv) createPartitions(validateOnly bool, topics ...kmsg.CreatePartitionsRequestTopic) []kmsg.CreatePartitionsResponseTopic {
	e.t.Helper()
	req := kmsg.NewPtrCreatePartitionsRequest()
	req.TimeoutMillis = 15000
	req.ValidateOnly = validateOnly
	req.Topics = topics
	resp := e.request(req).(*kmsg.CreatePartitionsResponse)
	if len(resp.Topics) != len(topics) {
		e.t.Fatalf("create partitions: %d topics in response, want %d", len(resp.Topics), len(topics))
	}
	return resp.Topics
}

func growTo(topic string, count int32, assignment ...[]int32) kmsg.CreatePartitionsRequestTopic {
	rt := kmsg.NewCreatePartitionsRequestTopic()
	rt.Topic, rt.Count = topic, count
	for _, a := range assignment {
		ra := kmsg.NewCreatePartitionsRequestTopicAssignment()
		ra.Replicas = a
		rt.Assignment = append(rt.Assignment, ra)
	}
	return rt
}

// partitionCount returns topic's partition count from Metadata.
//
// NB: a raw request, because kgo answers kadm's Metadata from a cache for
// a few seconds.
func (e *admEnv) partitionCount(topic string) int {
	e.t.Helper()
	req := kmsg.NewPtrMetadataRequest()
	rt := kmsg.NewMetadataRequestTopic()
	rt.Topic = &topic
	req.Topics = append(req.Topics, rt)
	resp := e.request(req).(*kmsg.MetadataResponse)
	if len(resp.Topics) != 1 || resp.Topics[0].ErrorCode != 0 {
		e.t.Fatalf("metadata of %s: %+v", topic, resp.Topics)
	}
	return len(resp.Topics[0].Partitions)
}

func TestCreatePartitions(t *testing.T) {
	e := admStart(t, nil)
	e.createTopic("grows", 1, nil)
	e.createTopic("other", 2, nil)

	// validate_only: answered as if done, but nothing changes.
	r := e.createPartitions(true, growTo("grows", 5))
	wantCode(t, "validate only", r[0].ErrorCode, r[0].ErrorMessage, nil, "")
	if n := e.partitionCount("grows"); n != 1 {
		t.Fatalf("after validate-only: %d partitions, want 1", n)
	}

	r = e.createPartitions(false, growTo("grows", 3), growTo("other", 3, []int32{admNodeID}))
	for i, rt := range r {
		wantCode(t, "grow "+rt.Topic, rt.ErrorCode, rt.ErrorMessage, nil, "")
		if want := []string{"grows", "other"}[i]; rt.Topic != want {
			t.Errorf("response topic %d is %q, want %q", i, rt.Topic, want)
		}
	}
	if n, m := e.partitionCount("grows"), e.partitionCount("other"); n != 3 || m != 3 {
		t.Fatalf("after growing: %d and %d partitions, want 3 and 3", n, m)
	}
	// The new partitions take writes at once.
	e.mustProduce("grows", 2, []byte("to a new partition"))
	fp := e.fetch("grows", 2, 0)
	if fp.ErrorCode != 0 || fp.HighWatermark != 1 {
		t.Fatalf("fetch of new partition 2: error %d, high watermark %d; want 0 and 1", fp.ErrorCode, fp.HighWatermark)
	}

	for _, c := range []struct {
		what    string
		topics  []kmsg.CreatePartitionsRequestTopic
		want    []*kerr.Error
		msgPart string
	}{
		{"same count", []kmsg.CreatePartitionsRequestTopic{growTo("grows", 3)}, []*kerr.Error{kerr.InvalidPartitions}, "3"},
		{"fewer", []kmsg.CreatePartitionsRequestTopic{growTo("grows", 2)}, []*kerr.Error{kerr.InvalidPartitions}, "grows"},
		{"unknown topic", []kmsg.CreatePartitionsRequestTopic{growTo("missing", 2)}, []*kerr.Error{kerr.UnknownTopicOrPartition}, "missing"},
		{"unknown broker", []kmsg.CreatePartitionsRequestTopic{growTo("grows", 4, []int32{9})}, []*kerr.Error{kerr.InvalidReplicaAssignment}, "9"},
		{"assignment count", []kmsg.CreatePartitionsRequestTopic{growTo("grows", 5, []int32{admNodeID})}, []*kerr.Error{kerr.InvalidReplicaAssignment}, "2 new partitions"},
		{"duplicate topic", []kmsg.CreatePartitionsRequestTopic{growTo("grows", 4), growTo("grows", 5)}, []*kerr.Error{kerr.InvalidRequest, kerr.InvalidRequest}, "more than once"},
	} {
		r := e.createPartitions(false, c.topics...)
		for i, rt := range r {
			wantCode(t, c.what, rt.ErrorCode, rt.ErrorMessage, c.want[i], c.msgPart)
		}
	}
	if n := e.partitionCount("grows"); n != 3 {
		t.Fatalf("after refused requests: %d partitions, want 3", n)
	}
}
