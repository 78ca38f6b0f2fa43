package clienttest

import (
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestProduceValidation sends hand-built record sets: several batches in
// one partition's records (all appended, offsets contiguous), and broken
// ones, which must be refused as a whole with CORRUPT_MESSAGE, leaving the
// log untouched, whether the damage is in the only batch or in the second.
func TestProduceValidation(t *testing.T) {
	t.Parallel()
	addr := startBroker(t, nil)
	const topic = "validated"
	createTopic(t, addr, topic, 1, nil)
	cl := newKgo(t, addr)

	good := func(values ...string) []byte { return batchSpec{producerID: -1, values: values}.encode() }
	badCRC := good("bad", "crc")
	badCRC[len(badCRC)-1] ^= 0xff // flips a record byte under the CRC
	truncated := good("cut", "short")
	truncated = truncated[:len(truncated)-3]

	for _, c := range []struct {
		name    string
		records []byte
	}{
		{"bad CRC", badCRC},
		{"truncated batch", truncated},
		{"good batch then bad CRC", append(good("would", "be", "ok"), badCRC...)},
	} {
		p := rawProduce(t, cl, topic, 0, c.records)
		got := kerr.ErrorForCode(p.ErrorCode)
		if !errorsIs(got, kerr.CorruptMessage) && !errorsIs(got, kerr.InvalidRecord) {
			t.Errorf("%s: error %v, want CORRUPT_MESSAGE (or INVALID_RECORD)", c.name, got)
		}
		if e := endOffsets(t, addr, topic)[0]; e != 0 {
			t.Fatalf("%s: end offset %d after a refused produce, want 0", c.name, e)
		}
	}

	p := rawProduce(t, cl, topic, 0, append(good("a", "b"), good("c", "d", "e")...))
	if p.ErrorCode != 0 || p.BaseOffset != 0 {
		t.Fatalf("two good batches in one record set: error code %d base offset %d, want 0 and 0", p.ErrorCode, p.BaseOffset)
	}
	want := []rec{{0, 0, "", "a"}, {0, 1, "", "b"}, {0, 2, "", "c"}, {0, 3, "", "d"}, {0, 4, "", "e"}}
	requireRecs(t, "two batches in one record set", consumeFranz(t, addr, topic, 0, kgo.NewOffset().AtStart(), 5), want)
}
