package clienttest

import (
	"errors"
	"testing"

	"github.com/segmentio/kafka-go"
)

// TestKafkaGoAdmin drives topic and config administration through
// kafka-go's Client: create, metadata, add partitions, configs (incremental
// and legacy), and delete.
func TestKafkaGoAdmin(t *testing.T) {
	t.Parallel()
	addr := startBroker(t, nil)
	cl := newKafkaGoClient(t, addr)
	ctx := testCtx(t)
	const topic = "kgo-admin"

	cr, err := cl.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{
		{Topic: topic, NumPartitions: 2, ReplicationFactor: 1, ConfigEntries: []kafka.ConfigEntry{{ConfigName: "retention.ms", ConfigValue: "3600000"}}},
		{Topic: "bad name", NumPartitions: 1, ReplicationFactor: 1},
	}})
	if err != nil {
		t.Fatalf("create topics: %v", err)
	}
	if err := cr.Errors[topic]; err != nil {
		t.Fatalf("create %q: %v", topic, err)
	}
	if err := cr.Errors["bad name"]; !errors.Is(err, kafka.InvalidTopic) {
		t.Fatalf("create %q: got %v, want %v", "bad name", err, kafka.InvalidTopic)
	}

	cp, err := cl.CreatePartitions(ctx, &kafka.CreatePartitionsRequest{Topics: []kafka.TopicPartitionsConfig{{Name: topic, Count: 3}}})
	if err != nil || cp.Errors[topic] != nil {
		t.Fatalf("create partitions: %v %v", err, cp.Errors)
	}
	var md *kafka.MetadataResponse
	waitFor(t, "kafka-go metadata to show 3 partitions", func() bool {
		md, err = cl.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
		if err != nil {
			t.Fatalf("metadata: %v", err)
		}
		return len(md.Topics) == 1 && len(md.Topics[0].Partitions) == 3
	})
	if len(md.Brokers) != 1 || md.Topics[0].Error != nil {
		t.Fatalf("metadata: brokers %+v topics %+v; want one broker and %q without error", md.Brokers, md.Topics, topic)
	}
	for _, p := range md.Topics[0].Partitions {
		if p.Leader.ID != md.Brokers[0].ID || p.Error != nil {
			t.Errorf("partition %d: leader %d error %v, want leader %d", p.ID, p.Leader.ID, p.Error, md.Brokers[0].ID)
		}
	}

	requireKafkaGoConfig(t, cl, topic, "retention.ms", "3600000")
	ir, err := cl.IncrementalAlterConfigs(ctx, &kafka.IncrementalAlterConfigsRequest{Resources: []kafka.IncrementalAlterConfigsRequestResource{{
		ResourceType: kafka.ResourceTypeTopic, ResourceName: topic,
		Configs: []kafka.IncrementalAlterConfigsRequestConfig{
			{Name: "retention.ms", ConfigOperation: kafka.ConfigOperationDelete},
			{Name: "segment.bytes", Value: "1048576", ConfigOperation: kafka.ConfigOperationSet},
		},
	}}})
	if err != nil || len(ir.Resources) != 1 || ir.Resources[0].Error != nil {
		t.Fatalf("incremental alter: %v %+v", err, ir)
	}
	requireKafkaGoConfig(t, cl, topic, "retention.ms", "604800000")
	requireKafkaGoConfig(t, cl, topic, "segment.bytes", "1048576")

	ar, err := cl.AlterConfigs(ctx, &kafka.AlterConfigsRequest{Resources: []kafka.AlterConfigRequestResource{{
		ResourceType: kafka.ResourceTypeTopic, ResourceName: topic,
		Configs: []kafka.AlterConfigRequestConfig{{Name: "retention.bytes", Value: "1048576"}},
	}}})
	if err != nil {
		t.Fatalf("legacy alter: %v", err)
	}
	for res, err := range ar.Errors {
		if err != nil {
			t.Fatalf("legacy alter %+v: %v", res, err)
		}
	}
	requireKafkaGoConfig(t, cl, topic, "retention.bytes", "1048576")
	requireKafkaGoConfig(t, cl, topic, "segment.bytes", "1073741824") // replaced set: back to default

	dr, err := cl.DeleteTopics(ctx, &kafka.DeleteTopicsRequest{Topics: []string{topic, "never-created"}})
	if err != nil {
		t.Fatalf("delete topics: %v", err)
	}
	if dr.Errors[topic] != nil || !errors.Is(dr.Errors["never-created"], kafka.UnknownTopicOrPartition) {
		t.Fatalf("delete topics: errors %v, want none for %q and %v for the missing one", dr.Errors, topic, kafka.UnknownTopicOrPartition)
	}
	waitFor(t, "kafka-go metadata to report the deleted topic unknown", func() bool {
		md, err = cl.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
		if err != nil {
			t.Fatalf("metadata after delete: %v", err)
		}
		return len(md.Topics) == 1 && errors.Is(md.Topics[0].Error, kafka.UnknownTopicOrPartition)
	})
}

func requireKafkaGoConfig(t *testing.T, cl *kafka.Client, topic, key, value string) {
	t.Helper()
	resp, err := cl.DescribeConfigs(testCtx(t), &kafka.DescribeConfigsRequest{Resources: []kafka.DescribeConfigRequestResource{{
		ResourceType: kafka.ResourceTypeTopic, ResourceName: topic, ConfigNames: []string{key},
	}}})
	if err != nil {
		t.Fatalf("describe configs: %v", err)
	}
	if len(resp.Resources) != 1 || resp.Resources[0].Error != nil {
		t.Fatalf("describe configs of %q: %+v", topic, resp.Resources)
	}
	entries := resp.Resources[0].ConfigEntries
	if len(entries) != 1 || entries[0].ConfigName != key || entries[0].ConfigValue != value {
		t.Fatalf("describe %s of %q (asked for that one name): got %+v, want exactly one entry = %q", key, topic, entries, value)
	}
}
