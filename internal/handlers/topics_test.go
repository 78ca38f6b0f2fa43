package handlers_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/strata-io/strata/internal/brokertest"
)

// TestCreateTopicsResponse checks the v5+ fields (resolved partition
// count, replication factor, configs with sources) and v7's topic id, and
// that validate_only checks everything but creates nothing.
func TestCreateTopicsResponse(t *testing.T) {
	e := admStart(t, map[string]string{"num.partitions": "4"})
	req := kmsg.NewPtrCreateTopicsRequest()
	req.Version = 7
	rt := kmsg.NewCreateTopicsRequestTopic()
	rt.Topic, rt.NumPartitions, rt.ReplicationFactor = "made", -1, -1
	v := "3600000"
	c := kmsg.NewCreateTopicsRequestTopicConfig()
	c.Name, c.Value = "retention.ms", &v
	rt.Configs = append(rt.Configs, c)
	req.Topics = append(req.Topics, rt)

	req.ValidateOnly = true
	resp := e.request(req).(*kmsg.CreateTopicsResponse)
	st := resp.Topics[0]
	if st.ErrorCode != 0 || st.NumPartitions != 4 || st.ReplicationFactor != 1 {
		t.Fatalf("validate only: code %d partitions %d rf %d", st.ErrorCode, st.NumPartitions, st.ReplicationFactor)
	}
	if md := e.metadataTopic("made"); md.ErrorCode != kerr.UnknownTopicOrPartition.Code {
		t.Fatalf("validate_only created the topic (metadata code %d)", md.ErrorCode)
	}

	req.ValidateOnly = false
	resp = e.request(req).(*kmsg.CreateTopicsResponse)
	st = resp.Topics[0]
	if st.ErrorCode != 0 || st.NumPartitions != 4 || st.TopicID == [16]byte{} {
		t.Fatalf("create: code %d partitions %d id %x", st.ErrorCode, st.NumPartitions, st.TopicID)
	}
	found := false
	for _, c := range st.Configs {
		if c.Name == "retention.ms" {
			found = true
			if c.Value == nil || *c.Value != "3600000" || c.Source != int8(kmsg.ConfigSourceDynamicTopicConfig) {
				t.Errorf("retention.ms: %v source %d", c.Value, c.Source)
			}
		}
	}
	if !found {
		t.Error("retention.ms missing from the response configs")
	}
	if md := e.metadataTopic("made"); md.TopicID != st.TopicID || len(md.Partitions) != 4 {
		t.Fatalf("metadata: id %x partitions %d", md.TopicID, len(md.Partitions))
	}
	resp = e.request(req).(*kmsg.CreateTopicsResponse)
	wantCode(t, "create again", resp.Topics[0].ErrorCode, resp.Topics[0].ErrorMessage, kerr.TopicAlreadyExists, "")
}

// TestCreateTopicsMany creates several topics in one request (one metadata
// update for all): each gets its own answer, a topic colliding with an
// earlier one of the same request ('.' and '_') or a duplicate name is
// refused while the others are created, and every created one is served.
func TestCreateTopicsMany(t *testing.T) {
	e := admStart(t, nil)
	req := kmsg.NewPtrCreateTopicsRequest()
	req.Version = 7
	for _, name := range []string{"m.a", "m_a", "m-b", "m-c", "dup", "dup", "bad name"} {
		rt := kmsg.NewCreateTopicsRequestTopic()
		rt.Topic, rt.NumPartitions, rt.ReplicationFactor = name, 3, 1
		req.Topics = append(req.Topics, rt)
	}
	resp := e.request(req).(*kmsg.CreateTopicsResponse)
	invalidTopic, invalidRequest := kerr.InvalidTopicException.Code, kerr.InvalidRequest.Code
	want := []int16{0, invalidTopic, 0, 0, invalidRequest, invalidRequest, invalidTopic}
	if len(resp.Topics) != len(want) {
		t.Fatalf("%d answers for %d topics", len(resp.Topics), len(want))
	}
	for i, st := range resp.Topics {
		if st.ErrorCode != want[i] {
			t.Errorf("%s: code %d (%v), want %d", st.Topic, st.ErrorCode, st.ErrorMessage, want[i])
		}
		md := e.metadataTopic(st.Topic)
		if created := md.ErrorCode == 0; created != (want[i] == 0) || created && (len(md.Partitions) != 3 || md.TopicID != st.TopicID) {
			t.Errorf("%s: metadata code %d, %d partitions, id %x (answered %x)", st.Topic, md.ErrorCode, len(md.Partitions), md.TopicID, st.TopicID)
		}
	}
}

// TestDeleteTopicsMany deletes several topics with one request (one
// metadata update for all); a topic named twice is deleted once and the
// repeat answered UNKNOWN_TOPIC_OR_PARTITION, as one-by-one processing would.
func TestDeleteTopicsMany(t *testing.T) {
	e := admStart(t, nil)
	create := kmsg.NewPtrCreateTopicsRequest()
	for _, name := range []string{"d-a", "d-b", "d-keep"} {
		rt := kmsg.NewCreateTopicsRequestTopic()
		rt.Topic, rt.NumPartitions, rt.ReplicationFactor = name, 2, 1
		create.Topics = append(create.Topics, rt)
	}
	for _, st := range e.request(create).(*kmsg.CreateTopicsResponse).Topics {
		if st.ErrorCode != 0 {
			t.Fatalf("create %s: %d", st.Topic, st.ErrorCode)
		}
	}
	req := kmsg.NewPtrDeleteTopicsRequest()
	for _, name := range []string{"d-a", "d-b", "d-a", "d-none"} {
		req.Topics = append(req.Topics, kmsg.DeleteTopicsRequestTopic{Topic: kmsg.StringPtr(name)})
	}
	resp := e.request(req).(*kmsg.DeleteTopicsResponse)
	want := []int16{0, 0, kerr.UnknownTopicOrPartition.Code, kerr.UnknownTopicOrPartition.Code}
	if len(resp.Topics) != len(want) {
		t.Fatalf("%d answers for %d topics", len(resp.Topics), len(want))
	}
	for i, st := range resp.Topics {
		if st.ErrorCode != want[i] {
			t.Errorf("delete %v (#%d): code %d, want %d", *st.Topic, i, st.ErrorCode, want[i])
		}
	}
	for name, gone := range map[string]bool{"d-a": true, "d-b": true, "d-keep": false} {
		if md := e.metadataTopic(name); (md.ErrorCode != 0) != gone {
			t.Errorf("%s: metadata code %d after the delete", name, md.ErrorCode)
		}
	}
}

// metadataTopic asks Metadata v12 about one topic without auto-creation.
func (e *admEnv) metadataTopic(name string) kmsg.MetadataResponseTopic {
	e.t.Helper()
	req := kmsg.NewPtrMetadataRequest()
	req.Version = 12
	mt := kmsg.NewMetadataRequestTopic()
	mt.Topic = &name
	req.Topics = append(req.Topics, mt)
	return e.request(req).(*kmsg.MetadataResponse).Topics[0]
}

// TestDeleteTopics deletes by name (v5) and by id (v6), checks the errors
// for unknown names and ids, and that the partition's files go.
func TestDeleteTopics(t *testing.T) {
	dir := t.TempDir()
	b := brokertest.StartBroker(t, dir, nil)
	e := admConnect(t, b.Addr().String())
	e.createTopic("byname", 1, nil)
	e.createTopic("byid", 2, nil)
	e.mustProduce("byname", 0, []byte("x"))
	id := e.topicID("byid")

	// kgo sends the newest version both sides know; pin DeleteTopics to
	// v5, the last one by name only.
	v5 := kversion.Stable()
	v5.SetMaxKeyVersion(20, 5)
	e5 := admConnect(t, b.Addr().String(), kgo.MaxVersions(v5))
	byName := kmsg.NewPtrDeleteTopicsRequest()
	byName.TopicNames = []string{"byname", "nosuch"}
	r5 := e5.request(byName).(*kmsg.DeleteTopicsResponse)
	if r5.Version != 5 {
		t.Fatalf("sent v%d, want v5", r5.Version)
	}
	if r5.Topics[0].ErrorCode != 0 {
		t.Fatalf("delete by name: %d", r5.Topics[0].ErrorCode)
	}
	wantCode(t, "unknown name", r5.Topics[1].ErrorCode, r5.Topics[1].ErrorMessage, kerr.UnknownTopicOrPartition, "")

	byID := kmsg.NewPtrDeleteTopicsRequest()
	byID.Version = 6
	byID.Topics = []kmsg.DeleteTopicsRequestTopic{{TopicID: id}, {TopicID: [16]byte{9}}}
	r6 := e.request(byID).(*kmsg.DeleteTopicsResponse)
	if r6.Topics[0].ErrorCode != 0 || r6.Topics[0].Topic == nil || *r6.Topics[0].Topic != "byid" {
		t.Fatalf("delete by id: code %d name %v", r6.Topics[0].ErrorCode, r6.Topics[0].Topic)
	}
	wantCode(t, "unknown id", r6.Topics[1].ErrorCode, r6.Topics[1].ErrorMessage, kerr.UnknownTopicID, "")

	for _, name := range []string{"byname", "byid"} {
		if md := e.metadataTopic(name); md.ErrorCode != kerr.UnknownTopicOrPartition.Code {
			t.Errorf("%s still in metadata (code %d)", name, md.ErrorCode)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "byname-0")); !os.IsNotExist(err) {
		t.Errorf("byname-0 directory still there: %v", err)
	}
	p := e.rawProduce("byname", 0, -1, batchOf("late"))
	wantCode(t, "produce to a deleted topic", p.ErrorCode, p.ErrorMessage, kerr.UnknownTopicOrPartition, "")
}

func TestDeleteTopicsDisabled(t *testing.T) {
	e := admStart(t, map[string]string{"delete.topic.enable": "false"})
	e.createTopic("stays", 1, nil)
	req := kmsg.NewPtrDeleteTopicsRequest()
	name := "stays"
	req.Topics = []kmsg.DeleteTopicsRequestTopic{{Topic: &name}}
	resp := e.request(req).(*kmsg.DeleteTopicsResponse)
	wantCode(t, "delete with deletion disabled", resp.Topics[0].ErrorCode, resp.Topics[0].ErrorMessage, kerr.TopicDeletionDisabled, "")
	if md := e.metadataTopic("stays"); md.ErrorCode != 0 {
		t.Fatalf("topic gone: %d", md.ErrorCode)
	}
}
