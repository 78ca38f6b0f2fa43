package server

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/strata-io/strata/internal/handlers"
	"github.com/strata-io/strata/internal/storage"
)

// TestFetchEncodingMatchesKmsg encodes the same Fetch response with the
// zero-copy encoder (splicing the record sets in from a file) and with
// kmsg (record sets in memory), for every served version, and requires
// identical bytes.
func TestFetchEncodingMatchesKmsg(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "segment"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	content := bytes.Repeat([]byte("0123456789abcdef"), 300)
	if _, err := f.Write(content); err != nil {
		t.Fatal(err)
	}

	build := func(version int16) *handlers.FetchResponse {
		r := kmsg.NewPtrFetchResponse()
		r.Version = version
		r.ThrottleMillis = 3
		r.SessionID = 0
		r.ErrorCode = 0
		var sections [][]storage.ReadResult
		for ti, name := range []string{"alpha", "b"} {
			t := kmsg.NewFetchResponseTopic()
			t.Topic = name
			t.TopicID = [16]byte{byte(ti + 1), 2, 3}
			var secs []storage.ReadResult
			for pi := 0; pi < 4; pi++ {
				p := kmsg.NewFetchResponseTopicPartition()
				p.Partition = int32(pi)
				p.HighWatermark = int64(1000 * pi)
				p.LastStableOffset = int64(999 * pi)
				p.LogStartOffset = int64(pi)
				p.PreferredReadReplica = -1
				var sec storage.ReadResult
				switch pi {
				case 0: // data from the file
					sec = storage.ReadResult{File: f, Pos: 17, Size: 1000}
				case 1: // an error, an empty record set, aborted transactions
					p.ErrorCode = 1
					p.RecordBatches = []byte{}
					p.AbortedTransactions = []kmsg.FetchResponseTopicPartitionAbortedTransaction{{ProducerID: 9, FirstOffset: 4}}
				case 2: // a diverging epoch and a leader hint (tags)
					p.RecordBatches = []byte{}
					p.DivergingEpoch.Epoch, p.DivergingEpoch.EndOffset = 3, 77
					p.CurrentLeader.LeaderID, p.CurrentLeader.LeaderEpoch = 1, 4
				case 3: // inline bytes in topic alpha, more from the file in topic b
					p.RecordBatches = []byte("inline")
					if ti == 1 {
						p.RecordBatches = nil
						sec = storage.ReadResult{File: f, Pos: 2000, Size: 2800}
					}
				}
				t.Partitions = append(t.Partitions, p)
				secs = append(secs, sec)
			}
			r.Topics = append(r.Topics, t)
			sections = append(sections, secs)
		}
		return &handlers.FetchResponse{FetchResponse: r, Sections: sections}
	}

	for v := int16(4); v <= 13; v++ {
		zc := build(v)
		body, splices, err := appendFetchBody(nil, zc, nil, false)
		if err != nil {
			t.Fatal(err)
		}
		if len(splices) != 3 {
			t.Fatalf("v%d: %d splices, want 3", v, len(splices))
		}
		var got []byte
		prev := 0
		for _, s := range splices {
			got = append(got, body[prev:s.at]...)
			if got, err = s.sec.AppendTo(got); err != nil {
				t.Fatal(err)
			}
			prev = s.at
		}
		got = append(got, body[prev:]...)

		ref := build(v)
		if err := ref.Materialize(); err != nil {
			t.Fatal(err)
		}
		want := ref.FetchResponse.AppendTo(nil)
		if !bytes.Equal(got, want) {
			t.Fatalf("v%d: zero-copy encoding differs from kmsg's\n got %x\nwant %x", v, got, want)
		}
		// Read inline (small responses), the same bytes and no splices.
		inl, splices, err := appendFetchBody(nil, build(v), nil, true)
		if err != nil || len(splices) != 0 || !bytes.Equal(inl, want) {
			t.Fatalf("v%d: inline encoding: err %v, %d splices, equal to kmsg's: %v", v, err, len(splices), bytes.Equal(inl, want))
		}
		// And kmsg can read it back.
		back := kmsg.NewPtrFetchResponse()
		back.Version = v
		if err := back.ReadFrom(got); err != nil {
			t.Fatalf("v%d: kmsg cannot decode: %v", v, err)
		}
	}
}
