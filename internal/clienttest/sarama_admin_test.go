package clienttest

import (
	"errors"
	"testing"

	"github.com/IBM/sarama"
)

// TestSaramaAdmin drives topic and config administration through sarama's
// ClusterAdmin: create, describe, add partitions, configs (legacy and
// incremental), and delete.
func TestSaramaAdmin(t *testing.T) {
	t.Parallel()
	addr := startBroker(t, nil)
	adm := newSaramaAdmin(t, addr)
	const topic = "sarama-admin"
	retention := "3600000"
	err := adm.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: 3, ReplicationFactor: 1,
		ConfigEntries: map[string]*string{"retention.ms": &retention}}, false)
	if err != nil {
		t.Fatalf("create topic: %v", err)
	}
	err = adm.CreateTopic(topic, &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 1}, false)
	if !errors.Is(err, sarama.ErrTopicAlreadyExists) {
		t.Fatalf("create existing topic: got %v, want %v", err, sarama.ErrTopicAlreadyExists)
	}
	err = adm.CreateTopic("bad/name", &sarama.TopicDetail{NumPartitions: 1, ReplicationFactor: 1}, false)
	if !errors.Is(err, sarama.ErrInvalidTopic) {
		t.Fatalf("create topic with an invalid name: got %v, want %v", err, sarama.ErrInvalidTopic)
	}

	topics, err := adm.ListTopics()
	if err != nil {
		t.Fatalf("list topics: %v", err)
	}
	if d, ok := topics[topic]; !ok || d.NumPartitions != 3 || d.ReplicationFactor != 1 {
		t.Fatalf("list topics: %q is %+v (present %v), want 3 partitions, RF 1", topic, d, ok)
	}

	if err := adm.CreatePartitions(topic, 5, nil, false); err != nil {
		t.Fatalf("create partitions: %v", err)
	}
	md, err := adm.DescribeTopics([]string{topic})
	if err != nil || len(md) != 1 || !errors.Is(md[0].Err, sarama.ErrNoError) || len(md[0].Partitions) != 5 {
		t.Fatalf("describe topic after growing to 5: %+v, %v", md, err)
	}

	requireSaramaConfig(t, adm, topic, "retention.ms", "3600000", sarama.SourceTopic)
	requireSaramaConfig(t, adm, topic, "cleanup.policy", "delete", sarama.SourceDefault)

	v := "86400000"
	err = adm.IncrementalAlterConfig(sarama.TopicResource, topic, map[string]sarama.IncrementalAlterConfigsEntry{
		"retention.ms": {Operation: sarama.IncrementalAlterConfigsOperationSet, Value: &v},
	}, false)
	if err != nil {
		t.Fatalf("incremental alter: %v", err)
	}
	requireSaramaConfig(t, adm, topic, "retention.ms", "86400000", sarama.SourceTopic)

	bytes := "1048576"
	if err := adm.AlterConfig(sarama.TopicResource, topic, map[string]*string{"retention.bytes": &bytes}, false); err != nil {
		t.Fatalf("legacy alter: %v", err)
	}
	requireSaramaConfig(t, adm, topic, "retention.bytes", "1048576", sarama.SourceTopic)
	// Legacy alter replaces the whole set: retention.ms is back to default.
	requireSaramaConfig(t, adm, topic, "retention.ms", "604800000", sarama.SourceDefault)

	if err := adm.DeleteTopic(topic); err != nil {
		t.Fatalf("delete topic: %v", err)
	}
	if err := adm.DeleteTopic(topic); !errors.Is(err, sarama.ErrUnknownTopicOrPartition) {
		t.Fatalf("delete deleted topic: got %v, want %v", err, sarama.ErrUnknownTopicOrPartition)
	}
	topics, err = adm.ListTopics()
	if err != nil {
		t.Fatalf("list topics after delete: %v", err)
	}
	if _, ok := topics[topic]; ok {
		t.Fatalf("deleted topic %q is still listed", topic)
	}
}

func requireSaramaConfig(t *testing.T, adm sarama.ClusterAdmin, topic, key, value string, source sarama.ConfigSource) {
	t.Helper()
	entries, err := adm.DescribeConfig(sarama.ConfigResource{Type: sarama.TopicResource, Name: topic})
	if err != nil {
		t.Fatalf("describe config of %q: %v", topic, err)
	}
	for _, e := range entries {
		if e.Name == key {
			if e.Value != value || e.Source != source {
				t.Fatalf("config %s of %q: got %q (source %v), want %q (source %v)", key, topic, e.Value, e.Source, value, source)
			}
			return
		}
	}
	t.Fatalf("config %s of %q not described (got %d entries)", key, topic, len(entries))
}
