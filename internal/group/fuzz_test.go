package group

import (
	"log/slog"
	"testing"

	"github.com/strata-io/strata/internal/config"
	"github.com/strata-io/strata/internal/record"
)

// FuzzDecodeRecord: __consumer_offsets records are replayed on every
// load; a corrupted one must be an error, never a panic.
func FuzzDecodeRecord(f *testing.F) {
	f.Add(offsetKey("g", "t", 1), offsetValue(Offset{Offset: 5, LeaderEpoch: 2, Metadata: "m", ExpireTimestamp: -1}))
	f.Add(offsetKey("g", "t", 1), []byte(nil))
	f.Add(groupKey("g"), []byte{0, 3, 0, 8, 'c', 'o', 'n', 's', 'u', 'm', 'e', 'r', 0, 0, 0, 1, 0xff, 0xff})
	f.Add([]byte{0, 5, 0, 1, 'g'}, []byte{0, 0})
	f.Fuzz(func(t *testing.T, key, value []byte) {
		_, _ = decodeRecord(key, value)
	})
}

// FuzzReplayBatches drives the whole load path over arbitrary bytes:
// batch framing, decompression, record decoding and applying to groups.
func FuzzReplayBatches(f *testing.F) {
	f.Add(record.Build(record.BatchSpec{Records: []record.RecordSpec{
		{Key: offsetKey("g", "t", 0), Value: offsetValue(Offset{Offset: 1, ExpireTimestamp: -1})},
		{Key: groupKey("g")},
	}}))
	f.Add([]byte{0, 0, 0, 0})
	cfg, _ := config.NewBroker(nil)
	c := &Coordinator{cfg: settingsFrom(cfg), clock: SystemClock{}, log: slog.New(slog.DiscardHandler)}
	f.Fuzz(func(t *testing.T, b []byte) {
		s := newShard(c, 0, 0, nil)
		groups := map[string]*Group{}
		s.replayBatches(b, groups)
		for _, g := range groups {
			g.finishLoad(c.now())
		}
	})
}
