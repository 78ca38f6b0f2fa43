package clienttest

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

// TestCreateTopicErrors checks CreateTopics' per-topic error codes for
// requests a single broker cannot or must not satisfy, and that none of them
// leaves a topic behind.
func TestCreateTopicErrors(t *testing.T) {
	t.Parallel()
	addr := startBroker(t, nil)
	adm := newAdmin(t, addr)
	ctx := testCtx(t)
	for _, c := range []struct {
		name       string
		partitions int32
		rf         int16
		configs    map[string]*string
		want       *kerr.Error
	}{
		{"rf-3", 1, 3, nil, kerr.InvalidReplicationFactor},
		{"zero-partitions", 0, 1, nil, kerr.InvalidPartitions},
		{"bad-config-name", 1, 1, map[string]*string{"no.such.config": kadm.StringPtr("1")}, kerr.InvalidConfig},
		{"bad-config-value", 1, 1, map[string]*string{"retention.ms": kadm.StringPtr("forever")}, kerr.InvalidConfig},
	} {
		_, err := adm.CreateTopic(ctx, c.partitions, c.rf, c.configs, c.name)
		requireKerr(t, "create "+c.name, err, c.want)
	}
	tds, err := adm.ListTopics(ctx)
	if err != nil {
		t.Fatalf("list topics: %v", err)
	}
	if names := tds.Names(); len(names) != 0 {
		t.Errorf("topics after only failed creates: %q, want none", names)
	}
}
