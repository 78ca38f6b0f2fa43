package clienttest

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// TestFranzAcks produces with acks=0, 1 and all (-1). Whatever the acks, the
// records must all be stored once, in order, at dense offsets; with acks=0
// the producer learns no offsets, so the test waits for the end offset.
func TestFranzAcks(t *testing.T) {
	t.Parallel()
	addr := startBroker(t, nil)
	for _, c := range []struct {
		name string
		opts []kgo.Opt
	}{
		// franz-go's idempotent producer requires acks=all, so the other
		// two run without idempotence, like most clients' defaults.
		{"acks=0", []kgo.Opt{kgo.RequiredAcks(kgo.NoAck()), kgo.DisableIdempotentWrite()}},
		{"acks=1", []kgo.Opt{kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite()}},
		{"acks=all", []kgo.Opt{kgo.RequiredAcks(kgo.AllISRAcks()), kgo.DisableIdempotentWrite()}},
		{"acks=all idempotent", []kgo.Opt{kgo.RequiredAcks(kgo.AllISRAcks())}},
	} {
		t.Run(c.name, func(t *testing.T) {
			topic := "acks-" + map[string]string{"acks=0": "0", "acks=1": "1", "acks=all": "all", "acks=all idempotent": "idem"}[c.name]
			createTopic(t, addr, topic, 1, nil)
			cl := newKgo(t, addr, c.opts...)
			rs := keyed(topic, c.name, 25)
			want := make([]rec, len(rs))
			for i, r := range rs {
				want[i] = rec{0, int64(i), string(r.Key), string(r.Value)}
			}
			// One at a time, so that with acks=0 the order of separate
			// requests on one connection is also checked.
			for _, r := range rs {
				res := cl.ProduceSync(testCtx(t), r)
				if err := res.FirstErr(); err != nil {
					t.Fatalf("produce: %v", err)
				}
			}
			waitFor(t, "25 records to be stored", func() bool { return endOffsets(t, addr, topic)[0] >= 25 })
			requireRecs(t, "consumed", consumeFranz(t, addr, topic, 0, kgo.NewOffset().AtStart(), 25), want)
			if e := endOffsets(t, addr, topic)[0]; e != 25 {
				t.Fatalf("end offset %d, want 25", e)
			}
		})
	}
}
