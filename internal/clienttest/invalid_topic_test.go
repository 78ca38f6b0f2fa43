package clienttest

import (
	"fmt"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
)

// TestInvalidTopicName checks Kafka's topic-name rules on CreateTopics:
// [a-zA-Z0-9._-], at most 249 characters, and not "." or "..".
func TestInvalidTopicName(t *testing.T) {
	t.Parallel()
	addr := startBroker(t, nil)
	adm := newAdmin(t, addr)
	ctx := testCtx(t)
	for _, name := range []string{
		"has space", "slash/y", "star*", "ünïcode", "colon:", ".", "..", strings.Repeat("x", 250),
	} {
		_, err := adm.CreateTopic(ctx, 1, 1, nil, name)
		requireKerr(t, "create topic "+trunc(name), err, kerr.InvalidTopicException)
	}
	for _, name := range []string{"a.b_c-D9", strings.Repeat("y", 249)} {
		if _, err := adm.CreateTopic(ctx, 1, 1, nil, name); err != nil {
			t.Errorf("create valid topic %s: %v", trunc(name), err)
		}
	}
	// None of the invalid names may have been created as a side effect.
	tds, err := adm.ListTopics(ctx)
	if err != nil {
		t.Fatalf("list topics: %v", err)
	}
	if names := tds.Names(); len(names) != 2 {
		t.Errorf("topics after the test: %q, want only the two valid ones", names)
	}
}

func trunc(s string) string {
	if len(s) > 20 {
		return fmt.Sprintf("%q… (%d chars)", s[:10], len(s))
	}
	return fmt.Sprintf("%q", s)
}
