package clienttest

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestFranzTopicConfigs covers DescribeConfigs, IncrementalAlterConfigs (set
// and delete), legacy AlterConfigs (which replaces the whole dynamic set),
// validate-only, bad names and values, and that an altered
// max.message.bytes takes effect on produce.
func TestFranzTopicConfigs(t *testing.T) {
	t.Parallel()
	addr := startBroker(t, nil)
	const topic = "configured"
	createTopic(t, addr, topic, 1, map[string]*string{"retention.ms": kadm.StringPtr("3600000")})
	cl := newKgo(t, addr, kgo.ProducerBatchCompression(kgo.NoCompression()))
	adm := kadm.NewClient(cl)
	ctx := testCtx(t)

	requireConfig(t, adm, topic, "retention.ms", "3600000", kmsg.ConfigSourceDynamicTopicConfig)
	requireConfig(t, adm, topic, "cleanup.policy", "delete", kmsg.ConfigSourceDefaultConfig)
	requireConfig(t, adm, topic, "max.message.bytes", "1048588", kmsg.ConfigSourceDefaultConfig)

	incremental := func(what string, ops ...kadm.AlterConfig) error {
		t.Helper()
		rs, err := adm.AlterTopicConfigs(ctx, ops, topic)
		if err != nil {
			t.Fatalf("%s: incremental alter request: %v", what, err)
		}
		return alterErr(rs) // nil, or the per-resource error
	}

	if err := incremental("set", kadm.AlterConfig{Op: kadm.SetConfig, Name: "retention.ms", Value: kadm.StringPtr("7200000")},
		kadm.AlterConfig{Op: kadm.SetConfig, Name: "max.message.bytes", Value: kadm.StringPtr("2048")}); err != nil {
		t.Fatalf("incremental set: %v", err)
	}
	requireConfig(t, adm, topic, "retention.ms", "7200000", kmsg.ConfigSourceDynamicTopicConfig)
	requireConfig(t, adm, topic, "max.message.bytes", "2048", kmsg.ConfigSourceDynamicTopicConfig)

	// The new limit applies to the next produce.
	res := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: incompressible(4096)})
	requireKerr(t, "produce 4 KiB to a topic with max.message.bytes=2048", res[0].Err, kerr.MessageTooLarge)
	produceFranz(t, cl, &kgo.Record{Topic: topic, Value: []byte("small")})

	if err := incremental("delete", kadm.AlterConfig{Op: kadm.DeleteConfig, Name: "retention.ms"}); err != nil {
		t.Fatalf("incremental delete: %v", err)
	}
	requireConfig(t, adm, topic, "retention.ms", "604800000", kmsg.ConfigSourceDefaultConfig)
	requireConfig(t, adm, topic, "max.message.bytes", "2048", kmsg.ConfigSourceDynamicTopicConfig)

	requireKerr(t, "unknown config name", incremental("unknown name",
		kadm.AlterConfig{Op: kadm.SetConfig, Name: "no.such.config", Value: kadm.StringPtr("1")}), kerr.InvalidConfig)
	requireKerr(t, "non-numeric retention.ms", incremental("bad value",
		kadm.AlterConfig{Op: kadm.SetConfig, Name: "retention.ms", Value: kadm.StringPtr("soon")}), kerr.InvalidConfig)

	vrs, err := adm.ValidateAlterTopicConfigs(ctx, []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "retention.ms", Value: kadm.StringPtr("1000")}}, topic)
	if err == nil {
		err = alterErr(vrs)
	}
	if err != nil {
		t.Fatalf("validate-only alter: %v", err)
	}
	requireConfig(t, adm, topic, "retention.ms", "604800000", kmsg.ConfigSourceDefaultConfig)

	// Legacy AlterConfigs replaces every dynamic config of the resource, so
	// max.message.bytes falls back to its default.
	rs, err := adm.AlterTopicConfigsState(ctx, []kadm.AlterConfig{{Name: "retention.bytes", Value: kadm.StringPtr("1048576")}}, topic)
	if err == nil {
		err = alterErr(rs)
	}
	if err != nil {
		t.Fatalf("legacy alter: %v", err)
	}
	requireConfig(t, adm, topic, "retention.bytes", "1048576", kmsg.ConfigSourceDynamicTopicConfig)
	requireConfig(t, adm, topic, "max.message.bytes", "1048588", kmsg.ConfigSourceDefaultConfig)

	dc, err := adm.DescribeTopicConfigs(ctx, "no-such-topic")
	if err == nil {
		_, err = dc.On("no-such-topic", func(rc *kadm.ResourceConfig) error { return rc.Err })
	}
	requireKerr(t, "describe configs of a missing topic", err, kerr.UnknownTopicOrPartition)
}

// requireConfig fails unless the topic's config key has value and source.
func requireConfig(t *testing.T, adm *kadm.Client, topic, key, value string, source kmsg.ConfigSource) {
	t.Helper()
	rcs, err := adm.DescribeTopicConfigs(testCtx(t), topic)
	if err != nil {
		t.Fatalf("describe configs of %q: %v", topic, err)
	}
	rc, err := rcs.On(topic, nil)
	if err == nil {
		err = rc.Err
	}
	if err != nil {
		t.Fatalf("describe configs of %q: %v", topic, err)
	}
	for _, c := range rc.Configs {
		if c.Key != key {
			continue
		}
		if c.MaybeValue() != value || c.Source != source {
			t.Fatalf("config %s of %q: got %q (source %v), want %q (source %v)", key, topic, c.MaybeValue(), c.Source, value, source)
		}
		return
	}
	t.Fatalf("config %s of %q: not described (got %d configs)", key, topic, len(rc.Configs))
}

// alterErr returns the first per-resource error of an alter response.
func alterErr(rs kadm.AlterConfigsResponses) error {
	for _, r := range rs {
		if r.Err != nil {
			return r.Err
		}
	}
	return nil
}
