package handlers_test

import (
	"bytes"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"

	"github.com/strata-io/strata/internal/config"
)

// syn is a config synonym as the tests expect it.
type syn struct {
	name, value string
	source      kmsg.ConfigSource
}

// wantConfig is one described config as the tests expect it.
type wantConfig struct {
	value    *string // nil: null
	source   kmsg.ConfigSource
	synonyms []syn
}

func str(s string) *string { return &s }

// describe describes one resource through kadm (which asks for synonyms)
// and returns its configs by name.
func (e *admEnv) describe(typ kmsg.ConfigResourceType, name string) map[string]kadm.Config {
	e.t.Helper()
	var rcs kadm.ResourceConfigs
	var err error
	if typ == kmsg.ConfigResourceTypeTopic {
		rcs, err = e.adm.DescribeTopicConfigs(e.ctx(), name)
	} else if name == "" {
		rcs, err = e.adm.DescribeBrokerConfigs(e.ctx())
	} else {
		rcs, err = e.adm.DescribeBrokerConfigs(e.ctx(), admNodeID)
	}
	if err != nil {
		e.t.Fatalf("describe configs of %q: %v", name, err)
	}
	if len(rcs) != 1 || rcs[0].Err != nil {
		e.t.Fatalf("describe configs of %q: %d resources, %+v", name, len(rcs), rcs)
	}
	out := map[string]kadm.Config{}
	for _, c := range rcs[0].Configs {
		if _, dup := out[c.Key]; dup {
			e.t.Fatalf("config %s described twice", c.Key)
		}
		out[c.Key] = c
	}
	return out
}

// requireConfigs checks the named configs of a described resource exactly:
// value, source and the full synonym list.
func requireConfigs(t *testing.T, what string, got map[string]kadm.Config, want map[string]wantConfig) {
	t.Helper()
	for name, w := range want {
		c, ok := got[name]
		if !ok {
			t.Fatalf("%s: config %s not described", what, name)
		}
		if (c.Value == nil) != (w.value == nil) || c.Value != nil && *c.Value != *w.value {
			t.Errorf("%s: %s = %v, want %v", what, name, ptrStr(c.Value), ptrStr(w.value))
		}
		if c.Source != w.source {
			t.Errorf("%s: %s source %v, want %v", what, name, c.Source, w.source)
		}
		var syns []syn
		for _, s := range c.Synonyms {
			syns = append(syns, syn{s.Key, ptrStr(s.Value), s.Source})
		}
		if !slices.Equal(syns, w.synonyms) {
			t.Errorf("%s: %s synonyms %v, want %v", what, name, syns, w.synonyms)
		}
	}
}

func ptrStr(s *string) string {
	if s == nil {
		return "<null>"
	}
	return *s
}

func TestDescribeTopicConfigs(t *testing.T) {
	// A static broker setting shows up as the source of the topic default.
	e := admStart(t, map[string]string{"log.retention.hours": "1"})
	e.createTopic("described", 1, map[string]*string{"segment.bytes": str("1048576")})

	got := e.describe(kmsg.ConfigResourceTypeTopic, "described")
	requireConfigs(t, "topic", got, map[string]wantConfig{
		"retention.ms": {str("3600000"), kmsg.ConfigSourceStaticBrokerConfig, []syn{
			{"log.retention.hours", "1", kmsg.ConfigSourceStaticBrokerConfig},
			{"log.retention.hours", "168", kmsg.ConfigSourceDefaultConfig},
		}},
		"segment.bytes": {str("1048576"), kmsg.ConfigSourceDynamicTopicConfig, []syn{
			{"segment.bytes", "1048576", kmsg.ConfigSourceDynamicTopicConfig},
			{"log.segment.bytes", "1073741824", kmsg.ConfigSourceDefaultConfig},
		}},
		"max.message.bytes": {str("1048588"), kmsg.ConfigSourceDefaultConfig, []syn{
			{"message.max.bytes", "1048588", kmsg.ConfigSourceDefaultConfig},
		}},
		"cleanup.policy": {str("delete"), kmsg.ConfigSourceDefaultConfig, []syn{
			{"log.cleanup.policy", "delete", kmsg.ConfigSourceDefaultConfig},
		}},
		"segment.ms": {str("604800000"), kmsg.ConfigSourceDefaultConfig, []syn{
			{"log.roll.hours", "168", kmsg.ConfigSourceDefaultConfig},
		}},
	})
	if len(got) != len(config.TopicDefs) {
		t.Errorf("described %d topic configs, want the %d Strata implements", len(got), len(config.TopicDefs))
	}

	// Raw request: a name filter, no synonyms unless asked, config types and
	// documentation (v3+), an unknown topic, a bad resource type.
	req := kmsg.NewPtrDescribeConfigsRequest()
	req.IncludeDocumentation = true
	for _, r := range []struct {
		typ   kmsg.ConfigResourceType
		name  string
		names []string
	}{
		{kmsg.ConfigResourceTypeTopic, "described", []string{"retention.ms", "cleanup.policy", "no.such.config"}},
		{kmsg.ConfigResourceTypeTopic, "missing", nil},
		{kmsg.ConfigResourceTypeTopic, "bad/name", nil},
		{kmsg.ConfigResourceTypeBrokerLogger, "1", nil},
	} {
		rr := kmsg.NewDescribeConfigsRequestResource()
		rr.ResourceType, rr.ResourceName, rr.ConfigNames = r.typ, r.name, r.names
		req.Resources = append(req.Resources, rr)
	}
	resp := e.request(req).(*kmsg.DescribeConfigsResponse)
	if len(resp.Resources) != 4 {
		t.Fatalf("%d resources in response, want 4", len(resp.Resources))
	}
	r0 := resp.Resources[0]
	wantCode(t, "filtered describe", r0.ErrorCode, r0.ErrorMessage, nil, "")
	if len(r0.Configs) != 2 || r0.Configs[0].Name != "cleanup.policy" || r0.Configs[1].Name != "retention.ms" {
		t.Fatalf("filtered describe returned %+v, want cleanup.policy and retention.ms", r0.Configs)
	}
	cp, rm := r0.Configs[0], r0.Configs[1]
	if cp.ConfigType != kmsg.ConfigTypeList || rm.ConfigType != kmsg.ConfigTypeLong {
		t.Errorf("config types %v, %v; want LIST, LONG", cp.ConfigType, rm.ConfigType)
	}
	if rm.Documentation == nil || !strings.Contains(*rm.Documentation, "ms") {
		t.Errorf("retention.ms documentation %v", ptrStr(rm.Documentation))
	}
	if len(rm.ConfigSynonyms) != 0 || rm.ReadOnly || rm.IsSensitive {
		t.Errorf("retention.ms: synonyms %v (not asked for), read-only %v, sensitive %v", rm.ConfigSynonyms, rm.ReadOnly, rm.IsSensitive)
	}
	wantCode(t, "describe missing topic", resp.Resources[1].ErrorCode, resp.Resources[1].ErrorMessage, kerr.UnknownTopicOrPartition, "missing")
	wantCode(t, "describe invalid topic name", resp.Resources[2].ErrorCode, resp.Resources[2].ErrorMessage, kerr.InvalidTopicException, "")
	wantCode(t, "describe broker logger", resp.Resources[3].ErrorCode, resp.Resources[3].ErrorMessage, kerr.InvalidRequest, "resource type")
	for i := 1; i < 4; i++ {
		if len(resp.Resources[i].Configs) != 0 {
			t.Errorf("resource %d has an error and %d configs", i, len(resp.Resources[i].Configs))
		}
	}

	// v0 has no source, only IsDefault.
	v := kversion.Stable()
	v.SetMaxKeyVersion(32, 0)
	e0 := admConnect(t, e.addr, kgo.MaxVersions(v))
	req0 := kmsg.NewPtrDescribeConfigsRequest()
	rr := kmsg.NewDescribeConfigsRequestResource()
	rr.ResourceType, rr.ResourceName = kmsg.ConfigResourceTypeTopic, "described"
	rr.ConfigNames = []string{"segment.bytes", "cleanup.policy"}
	req0.Resources = append(req0.Resources, rr)
	resp0 := e0.request(req0).(*kmsg.DescribeConfigsResponse)
	if resp0.Version != 0 || len(resp0.Resources) != 1 || len(resp0.Resources[0].Configs) != 2 {
		t.Fatalf("v0 describe: version %d, %+v", resp0.Version, resp0.Resources)
	}
	if c := resp0.Resources[0].Configs; !c[0].IsDefault || c[1].IsDefault || ptrStr(c[1].Value) != "1048576" {
		t.Errorf("v0: cleanup.policy default=%v, segment.bytes default=%v value %s; want true, false, 1048576", c[0].IsDefault, c[1].IsDefault, ptrStr(c[1].Value))
	}
}

func TestDescribeBrokerConfigs(t *testing.T) {
	e := admStart(t, map[string]string{"num.partitions": "3"})
	got := e.describe(kmsg.ConfigResourceTypeBroker, "1")
	requireConfigs(t, "broker 1", got, map[string]wantConfig{
		"num.partitions":    {str("3"), kmsg.ConfigSourceStaticBrokerConfig, []syn{{"num.partitions", "3", kmsg.ConfigSourceStaticBrokerConfig}, {"num.partitions", "1", kmsg.ConfigSourceDefaultConfig}}},
		"message.max.bytes": {str("1048588"), kmsg.ConfigSourceDefaultConfig, []syn{{"message.max.bytes", "1048588", kmsg.ConfigSourceDefaultConfig}}},
		"log.retention.ms":  {nil, kmsg.ConfigSourceDefaultConfig, []syn{{"log.retention.hours", "168", kmsg.ConfigSourceDefaultConfig}}},
		"broker.rack":       {nil, kmsg.ConfigSourceDefaultConfig, nil},
	})
	// Read-only is "cannot be changed at runtime".
	req := kmsg.NewPtrDescribeConfigsRequest()
	for _, name := range []string{"1", "", "2", "x"} {
		rr := kmsg.NewDescribeConfigsRequestResource()
		rr.ResourceType, rr.ResourceName = kmsg.ConfigResourceTypeBroker, name
		if name == "1" {
			rr.ConfigNames = []string{"num.partitions", "message.max.bytes"}
		}
		req.Resources = append(req.Resources, rr)
	}
	resp := e.request(req).(*kmsg.DescribeConfigsResponse)
	c := resp.Resources[0].Configs
	if len(c) != 2 || c[0].Name != "message.max.bytes" || c[0].ReadOnly || c[1].Name != "num.partitions" || !c[1].ReadOnly {
		t.Errorf("broker 1 filtered: %+v; want message.max.bytes writable and num.partitions read-only", c)
	}
	if r := resp.Resources[1]; r.ErrorCode != 0 || len(r.Configs) != 0 {
		t.Errorf("cluster default resource with nothing set: error %d, %d configs; want none", r.ErrorCode, len(r.Configs))
	}
	wantCode(t, "describe broker 2", resp.Resources[2].ErrorCode, resp.Resources[2].ErrorMessage, kerr.InvalidRequest, "broker id")
	wantCode(t, "describe broker x", resp.Resources[3].ErrorCode, resp.Resources[3].ErrorMessage, kerr.InvalidRequest, "integer")
}

// alterTopic runs one incremental alter through kadm and returns the
// resource's error and message.
func (e *admEnv) alterTopic(topic string, validateOnly bool, ops ...kadm.AlterConfig) (error, string) {
	e.t.Helper()
	alter := e.adm.AlterTopicConfigs
	if validateOnly {
		alter = e.adm.ValidateAlterTopicConfigs
	}
	rs, err := alter(e.ctx(), ops, topic)
	if err != nil || len(rs) != 1 {
		e.t.Fatalf("incremental alter of %s: %v (%d responses)", topic, err, len(rs))
	}
	return rs[0].Err, rs[0].ErrMessage
}

func set(name, value string) kadm.AlterConfig {
	return kadm.AlterConfig{Op: kadm.SetConfig, Name: name, Value: &value}
}

func TestIncrementalAlterTopicConfigs(t *testing.T) {
	e := admStart(t, nil)
	const topic = "altered"
	e.createTopic(topic, 1, nil)
	big := make([]byte, 2000)

	err, msg := e.alterTopic(topic, false, set("max.message.bytes", "1000"), set("retention.ms", "3600000"))
	wantErr(t, "set", err, msg, nil, "")
	requireConfigs(t, "after set", e.describe(kmsg.ConfigResourceTypeTopic, topic), map[string]wantConfig{
		"max.message.bytes": {str("1000"), kmsg.ConfigSourceDynamicTopicConfig, []syn{
			{"max.message.bytes", "1000", kmsg.ConfigSourceDynamicTopicConfig},
			{"message.max.bytes", "1048588", kmsg.ConfigSourceDefaultConfig},
		}},
		"retention.ms": {str("3600000"), kmsg.ConfigSourceDynamicTopicConfig, []syn{
			{"retention.ms", "3600000", kmsg.ConfigSourceDynamicTopicConfig},
			{"log.retention.hours", "168", kmsg.ConfigSourceDefaultConfig},
		}},
	})
	// The lower limit applies to the next produce.
	wantErr(t, "produce 2000 bytes, limit 1000", e.produce(topic, 0, big), "", kerr.MessageTooLarge, "")
	e.mustProduce(topic, 0, []byte("small"))

	// Invalid changes are refused whole: nothing of the request is applied.
	for _, c := range []struct {
		what    string
		ops     []kadm.AlterConfig
		want    *kerr.Error
		msgPart string
	}{
		{"garbage value", []kadm.AlterConfig{set("segment.bytes", "2097152"), set("retention.ms", "soon")}, kerr.InvalidConfig, "retention.ms"},
		{"unknown name", []kadm.AlterConfig{set("no.such.config", "1")}, kerr.InvalidConfig, "no.such.config"},
		{"out of range", []kadm.AlterConfig{set("segment.bytes", "10")}, kerr.InvalidConfig, "segment.bytes"},
		{"unknown policy", []kadm.AlterConfig{set("cleanup.policy", "shred")}, kerr.InvalidConfig, "shred"},
		{"append unknown policy", []kadm.AlterConfig{{Op: kadm.AppendConfig, Name: "cleanup.policy", Value: str("shred")}}, kerr.InvalidConfig, "shred"},
		{"subtract to empty", []kadm.AlterConfig{{Op: kadm.SubtractConfig, Name: "cleanup.policy", Value: str("delete")}}, kerr.InvalidConfig, "cleanup"},
		{"append to non-list", []kadm.AlterConfig{{Op: kadm.AppendConfig, Name: "retention.ms", Value: str("1")}}, kerr.InvalidConfig, "retention.ms"},
		{"duplicate key", []kadm.AlterConfig{set("retention.ms", "1"), set("retention.ms", "2")}, kerr.InvalidRequest, "retention.ms"},
		{"null value", []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "retention.ms"}}, kerr.InvalidRequest, "null"},
	} {
		err, msg := e.alterTopic(topic, false, c.ops...)
		wantErr(t, c.what, err, msg, c.want, c.msgPart)
	}
	// A valid change with validate_only changes nothing either.
	err, msg = e.alterTopic(topic, true, set("retention.ms", "1000"), kadm.AlterConfig{Op: kadm.DeleteConfig, Name: "max.message.bytes"})
	wantErr(t, "validate only", err, msg, nil, "")
	unchanged := map[string]wantConfig{
		"max.message.bytes": {str("1000"), kmsg.ConfigSourceDynamicTopicConfig, []syn{
			{"max.message.bytes", "1000", kmsg.ConfigSourceDynamicTopicConfig},
			{"message.max.bytes", "1048588", kmsg.ConfigSourceDefaultConfig},
		}},
		"retention.ms": {str("3600000"), kmsg.ConfigSourceDynamicTopicConfig, []syn{
			{"retention.ms", "3600000", kmsg.ConfigSourceDynamicTopicConfig},
			{"log.retention.hours", "168", kmsg.ConfigSourceDefaultConfig},
		}},
		"segment.bytes":  {str("1073741824"), kmsg.ConfigSourceDefaultConfig, []syn{{"log.segment.bytes", "1073741824", kmsg.ConfigSourceDefaultConfig}}},
		"cleanup.policy": {str("delete"), kmsg.ConfigSourceDefaultConfig, []syn{{"log.cleanup.policy", "delete", kmsg.ConfigSourceDefaultConfig}}},
	}
	requireConfigs(t, "after refused changes", e.describe(kmsg.ConfigResourceTypeTopic, topic), unchanged)
	wantErr(t, "produce 2000 bytes after refused changes", e.produce(topic, 0, big), "", kerr.MessageTooLarge, "")

	// Append of a value already there keeps the list as it is (and sets it).
	err, msg = e.alterTopic(topic, false, kadm.AlterConfig{Op: kadm.AppendConfig, Name: "cleanup.policy", Value: str("delete")})
	wantErr(t, "append delete", err, msg, nil, "")
	// Delete goes back to the default, and the old limit applies again.
	err, msg = e.alterTopic(topic, false, kadm.AlterConfig{Op: kadm.DeleteConfig, Name: "max.message.bytes"})
	wantErr(t, "delete", err, msg, nil, "")
	requireConfigs(t, "after delete", e.describe(kmsg.ConfigResourceTypeTopic, topic), map[string]wantConfig{
		"max.message.bytes": {str("1048588"), kmsg.ConfigSourceDefaultConfig, []syn{{"message.max.bytes", "1048588", kmsg.ConfigSourceDefaultConfig}}},
		"retention.ms":      unchanged["retention.ms"],
		"cleanup.policy": {str("delete"), kmsg.ConfigSourceDynamicTopicConfig, []syn{
			{"cleanup.policy", "delete", kmsg.ConfigSourceDynamicTopicConfig},
			{"log.cleanup.policy", "delete", kmsg.ConfigSourceDefaultConfig},
		}},
	})
	e.mustProduce(topic, 0, big)

	// Unknown topic, and a resource named twice in one request.
	err, msg = e.alterTopic("missing", false, set("retention.ms", "1"))
	wantErr(t, "alter missing topic", err, msg, kerr.UnknownTopicOrPartition, "missing")
	req := kmsg.NewPtrIncrementalAlterConfigsRequest()
	for range 2 {
		rr := kmsg.NewIncrementalAlterConfigsRequestResource()
		rr.ResourceType, rr.ResourceName = kmsg.ConfigResourceTypeTopic, topic
		rc := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
		rc.Name, rc.Value = "retention.ms", str("5")
		rr.Configs = append(rr.Configs, rc)
		req.Resources = append(req.Resources, rr)
	}
	resp := e.request(req).(*kmsg.IncrementalAlterConfigsResponse)
	for i, r := range resp.Resources {
		wantCode(t, "duplicate resource", r.ErrorCode, r.ErrorMessage, kerr.InvalidRequest, "at most once")
		if r.ResourceName != topic || i > 1 {
			t.Errorf("response resource %d: %q", i, r.ResourceName)
		}
	}
	requireConfigs(t, "after duplicate resources", e.describe(kmsg.ConfigResourceTypeTopic, topic), map[string]wantConfig{"retention.ms": unchanged["retention.ms"]})
}

func TestAlterTopicConfigsLegacy(t *testing.T) {
	e := admStart(t, nil)
	const topic = "replaced"
	e.createTopic(topic, 1, map[string]*string{"retention.ms": str("3600000")})
	state := func(validateOnly bool, cfgs ...kadm.AlterConfig) (error, string) {
		t.Helper()
		alter := e.adm.AlterTopicConfigsState
		if validateOnly {
			alter = e.adm.ValidateAlterTopicConfigsState
		}
		rs, err := alter(e.ctx(), cfgs, topic)
		if err != nil || len(rs) != 1 {
			t.Fatalf("alter configs: %v (%d responses)", err, len(rs))
		}
		return rs[0].Err, rs[0].ErrMessage
	}

	// The whole set is replaced: retention.ms, not named, goes back to the default.
	err, msg := state(false, set("segment.bytes", "1048576"), set("max.message.bytes", "5000"))
	wantErr(t, "replace", err, msg, nil, "")
	after := map[string]wantConfig{
		"retention.ms":      {str("604800000"), kmsg.ConfigSourceDefaultConfig, []syn{{"log.retention.hours", "168", kmsg.ConfigSourceDefaultConfig}}},
		"segment.bytes":     {str("1048576"), kmsg.ConfigSourceDynamicTopicConfig, []syn{{"segment.bytes", "1048576", kmsg.ConfigSourceDynamicTopicConfig}, {"log.segment.bytes", "1073741824", kmsg.ConfigSourceDefaultConfig}}},
		"max.message.bytes": {str("5000"), kmsg.ConfigSourceDynamicTopicConfig, []syn{{"max.message.bytes", "5000", kmsg.ConfigSourceDynamicTopicConfig}, {"message.max.bytes", "1048588", kmsg.ConfigSourceDefaultConfig}}},
	}
	requireConfigs(t, "after replace", e.describe(kmsg.ConfigResourceTypeTopic, topic), after)

	for _, c := range []struct {
		what     string
		validate bool
		cfgs     []kadm.AlterConfig
		want     *kerr.Error
		msgPart  string
	}{
		{"garbage", false, []kadm.AlterConfig{set("retention.ms", "1h")}, kerr.InvalidConfig, "retention.ms"},
		{"unknown policy", false, []kadm.AlterConfig{set("cleanup.policy", "shred")}, kerr.InvalidConfig, "shred"},
		{"unknown", false, []kadm.AlterConfig{set("segment.bytes", "1048576"), set("retention.hours", "1")}, kerr.InvalidConfig, "retention.hours"},
		{"null", false, []kadm.AlterConfig{{Name: "retention.ms"}}, kerr.InvalidRequest, "retention.ms"},
		{"validate only", true, []kadm.AlterConfig{set("retention.ms", "1000")}, nil, ""},
		{"validate only, bad", true, []kadm.AlterConfig{set("retention.ms", "-5")}, kerr.InvalidConfig, "retention.ms"},
	} {
		err, msg := state(c.validate, c.cfgs...)
		wantErr(t, c.what, err, msg, c.want, c.msgPart)
	}
	requireConfigs(t, "after refused or validate-only changes", e.describe(kmsg.ConfigResourceTypeTopic, topic), after)

	// An empty set removes every override.
	err, msg = state(false)
	wantErr(t, "clear", err, msg, nil, "")
	for name, c := range e.describe(kmsg.ConfigResourceTypeTopic, topic) {
		if c.Source != kmsg.ConfigSourceDefaultConfig {
			t.Errorf("after clearing, %s has source %v", name, c.Source)
		}
	}
}

func TestAlterBrokerConfigs(t *testing.T) {
	e := admStart(t, nil)
	const topic = "follows-broker"
	e.createTopic(topic, 1, nil)
	alter := func(broker *int32, legacy, validateOnly bool, ops ...kadm.AlterConfig) (error, string) {
		t.Helper()
		var brokers []int32
		if broker != nil {
			brokers = append(brokers, *broker)
		}
		var rs kadm.AlterConfigsResponses
		var err error
		switch {
		case legacy:
			rs, err = e.adm.AlterBrokerConfigsState(e.ctx(), ops, brokers...)
		case validateOnly:
			rs, err = e.adm.ValidateAlterBrokerConfigs(e.ctx(), ops, brokers...)
		default:
			rs, err = e.adm.AlterBrokerConfigs(e.ctx(), ops, brokers...)
		}
		if err != nil || len(rs) != 1 {
			t.Fatalf("alter broker configs: %v (%d responses)", err, len(rs))
		}
		return rs[0].Err, rs[0].ErrMessage
	}
	node := int32(admNodeID)

	// Per broker: lower message.max.bytes, which topics inherit.
	err, msg := alter(&node, false, false, set("message.max.bytes", "500"))
	wantErr(t, "set message.max.bytes on broker 1", err, msg, nil, "")
	requireConfigs(t, "broker 1", e.describe(kmsg.ConfigResourceTypeBroker, "1"), map[string]wantConfig{
		"message.max.bytes": {str("500"), kmsg.ConfigSourceDynamicBrokerConfig, []syn{
			{"message.max.bytes", "500", kmsg.ConfigSourceDynamicBrokerConfig},
			{"message.max.bytes", "1048588", kmsg.ConfigSourceDefaultConfig},
		}},
	})
	requireConfigs(t, "topic under broker 1", e.describe(kmsg.ConfigResourceTypeTopic, topic), map[string]wantConfig{
		"max.message.bytes": {str("500"), kmsg.ConfigSourceDynamicBrokerConfig, []syn{
			{"message.max.bytes", "500", kmsg.ConfigSourceDynamicBrokerConfig},
			{"message.max.bytes", "1048588", kmsg.ConfigSourceDefaultConfig},
		}},
	})
	wantErr(t, "produce 1000 bytes, broker limit 500", e.produce(topic, 0, make([]byte, 1000)), "", kerr.MessageTooLarge, "")

	// Cluster-wide default: retention for every topic.
	err, msg = alter(nil, false, false, set("log.retention.ms", "7200000"))
	wantErr(t, "set cluster default log.retention.ms", err, msg, nil, "")
	cluster := e.describe(kmsg.ConfigResourceTypeBroker, "")
	if len(cluster) != 1 {
		t.Errorf("cluster default resource lists %d configs, want exactly the one set", len(cluster))
	}
	requireConfigs(t, "cluster default", cluster, map[string]wantConfig{
		"log.retention.ms": {str("7200000"), kmsg.ConfigSourceDynamicDefaultBrokerConfig, []syn{
			{"log.retention.ms", "7200000", kmsg.ConfigSourceDynamicDefaultBrokerConfig},
		}},
	})
	requireConfigs(t, "topic under cluster default", e.describe(kmsg.ConfigResourceTypeTopic, topic), map[string]wantConfig{
		"retention.ms": {str("7200000"), kmsg.ConfigSourceDynamicDefaultBrokerConfig, []syn{
			{"log.retention.ms", "7200000", kmsg.ConfigSourceDynamicDefaultBrokerConfig},
			{"log.retention.hours", "168", kmsg.ConfigSourceDefaultConfig},
		}},
	})

	// Refused: static configs, bad values, other brokers. Kafka answers
	// INVALID_REQUEST for all of them.
	other := int32(7)
	for _, c := range []struct {
		what    string
		broker  *int32
		ops     []kadm.AlterConfig
		want    *kerr.Error
		msgPart string
	}{
		{"static config", &node, []kadm.AlterConfig{set("num.partitions", "3")}, kerr.InvalidRequest, "cannot update these configs dynamically: num.partitions"},
		{"static config, cluster-wide", nil, []kadm.AlterConfig{set("log.dirs", "/tmp")}, kerr.InvalidRequest, "log.dirs"},
		{"garbage value", &node, []kadm.AlterConfig{set("message.max.bytes", "lots")}, kerr.InvalidRequest, "message.max.bytes"},
		{"unknown config", &node, []kadm.AlterConfig{set("no.such.config", "1")}, kerr.InvalidRequest, "no.such.config"},
		{"unknown policy", nil, []kadm.AlterConfig{set("log.cleanup.policy", "shred")}, kerr.InvalidRequest, "shred"},
		{"append to non-list", &node, []kadm.AlterConfig{{Op: kadm.AppendConfig, Name: "message.max.bytes", Value: str("1")}}, kerr.InvalidConfig, "message.max.bytes"},
		{"other broker", &other, []kadm.AlterConfig{set("message.max.bytes", "600")}, kerr.InvalidRequest, "7"},
	} {
		// kadm sends a request for broker 7 to broker 7; go straight
		// to ours instead.
		req := kmsg.NewPtrIncrementalAlterConfigsRequest()
		rr := kmsg.NewIncrementalAlterConfigsRequestResource()
		rr.ResourceType = kmsg.ConfigResourceTypeBroker
		if c.broker != nil {
			rr.ResourceName = strconv.Itoa(int(*c.broker))
		}
		for _, op := range c.ops {
			rc := kmsg.NewIncrementalAlterConfigsRequestResourceConfig()
			rc.Name, rc.Op, rc.Value = op.Name, kmsg.IncrementalAlterConfigOp(op.Op), op.Value
			rr.Configs = append(rr.Configs, rc)
		}
		req.Resources = append(req.Resources, rr)
		resp := e.request(req).(*kmsg.IncrementalAlterConfigsResponse)
		wantCode(t, c.what, resp.Resources[0].ErrorCode, resp.Resources[0].ErrorMessage, c.want, c.msgPart)
	}
	err, msg = alter(&node, false, true, set("message.max.bytes", "900"))
	wantErr(t, "validate only", err, msg, nil, "")
	requireConfigs(t, "broker 1 after refused changes", e.describe(kmsg.ConfigResourceTypeBroker, "1"), map[string]wantConfig{
		"message.max.bytes": {str("500"), kmsg.ConfigSourceDynamicBrokerConfig, []syn{
			{"message.max.bytes", "500", kmsg.ConfigSourceDynamicBrokerConfig},
			{"message.max.bytes", "1048588", kmsg.ConfigSourceDefaultConfig},
		}},
		"log.retention.ms": {str("7200000"), kmsg.ConfigSourceDynamicDefaultBrokerConfig, []syn{
			{"log.retention.ms", "7200000", kmsg.ConfigSourceDynamicDefaultBrokerConfig},
			{"log.retention.hours", "168", kmsg.ConfigSourceDefaultConfig},
		}},
	})

	// Legacy AlterConfigs replaces broker 1's set: message.max.bytes is
	// dropped, so the default limit is back.
	err, msg = alter(&node, true, false, set("log.retention.bytes", "1000000"))
	wantErr(t, "legacy replace on broker 1", err, msg, nil, "")
	requireConfigs(t, "broker 1 after legacy replace", e.describe(kmsg.ConfigResourceTypeBroker, "1"), map[string]wantConfig{
		"message.max.bytes":   {str("1048588"), kmsg.ConfigSourceDefaultConfig, []syn{{"message.max.bytes", "1048588", kmsg.ConfigSourceDefaultConfig}}},
		"log.retention.bytes": {str("1000000"), kmsg.ConfigSourceDynamicBrokerConfig, []syn{{"log.retention.bytes", "1000000", kmsg.ConfigSourceDynamicBrokerConfig}, {"log.retention.bytes", "-1", kmsg.ConfigSourceDefaultConfig}}},
	})
	e.mustProduce(topic, 0, make([]byte, 1000))
}

// TestTopicRetentionChangeTakesEffect lowers a topic's retention.ms at run
// time and waits for the broker's retention pass to drop the closed
// segments under the new setting.
func TestTopicRetentionChangeTakesEffect(t *testing.T) {
	e := admStart(t, map[string]string{"log.retention.check.interval.ms": "20"})
	const topic = "retained"
	// Small segments: each batch below rolls a new one.
	e.createTopic(topic, 1, map[string]*string{"segment.bytes": str("600")})
	for range 6 {
		e.mustProduce(topic, 0, bytes.Repeat([]byte("r"), 400))
	}
	if s := e.startOffset(topic, 0); s != 0 {
		t.Fatalf("start offset %d before the change, want 0", s)
	}

	err, msg := e.alterTopic(topic, false, set("retention.ms", "1"))
	wantErr(t, "set retention.ms=1", err, msg, nil, "")
	// Each batch has a segment of its own and every one is older than 1 ms
	// once the pass runs: as in Kafka, the active segment is rolled and
	// deleted too, so the log empties and keeps its end offset, 6.
	deadline := time.Now().Add(10 * time.Second)
	s := e.startOffset(topic, 0)
	for ; s != 6; s = e.startOffset(topic, 0) {
		if s > 6 || time.Now().After(deadline) {
			t.Fatalf("start offset %d after retention.ms=1, want 6 (all expired)", s)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if fp := e.fetch(topic, 0, 5); fp.ErrorCode != kerr.OffsetOutOfRange.Code {
		t.Fatalf("fetch of expired offset 5: error %d, want OFFSET_OUT_OF_RANGE", fp.ErrorCode)
	}
	if end := e.endOffset(topic, 0); end != 6 {
		t.Fatalf("end offset %d after expiry, want 6", end)
	}
}
