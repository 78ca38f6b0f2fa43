package main

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func TestValidateTopicName(t *testing.T) {
	for name, wantErr := range map[string]string{
		"orders":                 "",
		"a.b_c-D9":               "",
		strings.Repeat("x", 249): "",
		"":                       "empty",
		".":                      "not allowed",
		"..":                     "not allowed",
		"...":                    "",
		strings.Repeat("x", 250): "limit is 249",
		"with space":             `contains ' '`,
		"slash/x":                `contains '/'`,
		"ünï":                    `contains 'ü'`,
	} {
		err := validateTopicName(name)
		if wantErr == "" && err != nil || wantErr != "" && (err == nil || !strings.Contains(err.Error(), wantErr)) {
			t.Errorf("validateTopicName(%.20q) = %v, want %q", name, err, wantErr)
		}
	}
}

func TestOneTopic(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		flag    string
		want    string
		wantErr string
	}{
		{args: []string{"a"}, want: "a"},
		{flag: "b", want: "b"},
		{args: []string{"a"}, flag: "a", want: "a"},
		{args: []string{"a"}, flag: "b", wantErr: "topic given twice"},
		{wantErr: "no topic given"},
	} {
		got, err := oneTopic(tc.args, tc.flag)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("oneTopic(%q, %q) error = %v, want %q", tc.args, tc.flag, err, tc.wantErr)
			}
		} else if err != nil || got != tc.want {
			t.Errorf("oneTopic(%q, %q) = %q, %v", tc.args, tc.flag, got, err)
		}
	}
}

func TestAlterOps(t *testing.T) {
	show := func(ops []kadm.AlterConfig) string {
		var parts []string
		for _, o := range ops {
			switch o.Op {
			case kadm.SetConfig:
				parts = append(parts, "set "+o.Name+"="+*o.Value)
			case kadm.DeleteConfig:
				parts = append(parts, "delete "+o.Name)
			default:
				parts = append(parts, fmt.Sprintf("op%d %s", o.Op, o.Name))
			}
		}
		return strings.Join(parts, "; ")
	}
	for _, tc := range []struct {
		set, del []string
		want     string
		wantErr  string
	}{
		{set: []string{"retention.ms=1", "cleanup.policy=compact,delete"},
			want: "set cleanup.policy=compact,delete; set retention.ms=1"},
		{del: []string{"a,b", "a"}, want: "delete a; delete b"},
		{set: []string{"x=1"}, del: []string{"y"}, want: "set x=1; delete y"},
		{wantErr: "nothing to change"},
		{set: []string{"x=1"}, del: []string{"x"}, wantErr: "both set and deleted"},
		{set: []string{"x"}, wantErr: "want key=value"},
	} {
		got, err := alterOps(tc.set, tc.del)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("alterOps(%q, %q) error = %v, want %q", tc.set, tc.del, err, tc.wantErr)
			}
		} else if err != nil || show(got) != tc.want {
			t.Errorf("alterOps(%q, %q) = %s, %v; want %s", tc.set, tc.del, show(got), err, tc.want)
		}
	}
}

func TestTopicConfigs(t *testing.T) {
	val := func(s string) *string { return &s }
	rcs := kadm.ResourceConfigs{
		{Name: "other", Configs: []kadm.Config{{Key: "x", Value: val("1"), Source: kmsg.ConfigSourceDynamicTopicConfig}}},
		{Name: "t", Configs: []kadm.Config{
			{Key: "segment.bytes", Value: val("1"), Source: kmsg.ConfigSourceStaticBrokerConfig},
			{Key: "retention.ms", Value: val("5"), Source: kmsg.ConfigSourceDynamicTopicConfig},
			{Key: "cleanup.policy", Value: val("delete"), Source: kmsg.ConfigSourceDefaultConfig},
		}},
		{Name: "gone", Err: kerr.UnknownTopicOrPartition, ErrMessage: "no such topic"},
	}
	keys := func(cs []kadm.Config) string {
		var ks []string
		for _, c := range cs {
			ks = append(ks, c.Key)
		}
		return strings.Join(ks, ",")
	}
	got, err := topicConfigs(rcs, nil, "t", false)
	if err != nil || keys(got) != "retention.ms,segment.bytes" {
		t.Errorf("non-default configs = %s, %v", keys(got), err)
	}
	got, err = topicConfigs(rcs, nil, "t", true)
	if err != nil || keys(got) != "cleanup.policy,retention.ms,segment.bytes" {
		t.Errorf("all configs = %s, %v", keys(got), err)
	}
	if _, err := topicConfigs(rcs, nil, "gone", false); err == nil || !strings.Contains(err.Error(), "(broker: no such topic)") {
		t.Errorf("error resource: %v", err)
	}
	shardErr := errors.New("request failed")
	if _, err := topicConfigs(nil, shardErr, "t", false); !errors.Is(err, shardErr) {
		t.Errorf("missing resource: %v", err)
	}
}

func TestTopicErr(t *testing.T) {
	for _, tc := range []struct {
		err  error
		msg  string
		want string
	}{
		{kerr.UnknownTopicOrPartition, "", `topic "t" does not exist`},
		{kerr.TopicAlreadyExists, "Topic 't' already exists.", `topic "t" already exists`},
		{kerr.InvalidReplicationFactor, "Replication factor: 3 larger than available brokers: 1.",
			`create topic "t": INVALID_REPLICATION_FACTOR: Replication factor is below 1 or larger than the number of available brokers. (broker: Replication factor: 3 larger than available brokers: 1.)`},
		{kerr.PolicyViolation, "", `create topic "t": POLICY_VIOLATION: Request parameters do not satisfy the configured policy.`},
	} {
		if got := topicErr("create", "t", tc.err, tc.msg).Error(); got != tc.want {
			t.Errorf("topicErr(%v) =\n %s\nwant\n %s", tc.err, got, tc.want)
		}
	}
}
