package handlers

// Fetch (key 1), v4–v13. Topic ids from v13; diverging-epoch detection
// (KIP-320) from v12 through LastFetchedEpoch. A fetch with a replica id
// is a follower's: it reads up to the log end instead of the HW, and its
// fetch offset is the follower's log end offset for the HW and the ISR.
// Only the leader serves fetches (no KIP-392 follower fetching):
// elsewhere NOT_LEADER_OR_FOLLOWER; the KIP-951 leader hints start at
// v16, which is not served. Fetch sessions (KIP-227)
// are declined: a request to open one is answered with session id 0, which
// tells the client to keep sending full fetches. Both isolation levels see
// the same records, because transactions do not exist yet (LSO = HW).
// Stored batches are returned as stored, never decoded. The first batch of
// the response is returned even when it is larger than the byte limits
// (KIP-74), so a consumer can always make progress.

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/strata-io/strata/internal/metadata"
	"github.com/strata-io/strata/internal/partition"
	"github.com/strata-io/strata/internal/storage"
)

func init() {
	register(API{Key: 1, MinVersion: 4, MaxVersion: 13, Handle: fetch})
}

// FetchResponse is a Fetch answer whose record sets are still in the log
// files: Sections[i][j] is topic i, partition j's stored bytes (Size 0:
// none). The server sends them straight from the page cache to the socket
// (sendfile); Materialize copies them into the response for writers that
// cannot.
type FetchResponse struct {
	*kmsg.FetchResponse
	Sections [][]storage.ReadResult
}

// Materialize reads every section into its partition's RecordBatches, so
// that kmsg alone can encode the response.
func (r *FetchResponse) Materialize() error {
	for i, secs := range r.Sections {
		for j, sec := range secs {
			if sec.Size == 0 {
				continue
			}
			buf, err := sec.AppendTo(make([]byte, 0, sec.Size))
			if err != nil {
				return err
			}
			r.Topics[i].Partitions[j].RecordBatches = buf
		}
	}
	r.Sections = nil
	return nil
}

func fetch(ctx context.Context, env *Env, req *Request) (kmsg.Response, error) {
	r := req.Body.(*kmsg.FetchRequest)
	resp := &FetchResponse{FetchResponse: r.ResponseKind().(*kmsg.FetchResponse)}
	if code := sessionCheck(r); code != 0 {
		resp.ErrorCode = code
		return resp, nil
	}
	maxBytes := r.MaxBytes
	if maxBytes <= 0 {
		maxBytes = 0x7fffffff // v0–v2 had no limit; a 0 means "none" too
	}
	// Errors (and diverging epochs) are answered at once, as Kafka does:
	// waiting would not change them.
	total, urgent := fetchOnce(env, req.Version, r, resp, maxBytes, true)
	if urgent || total >= int(r.MinBytes) || r.MaxWaitMillis <= 0 {
		return resp, nil
	}
	// Long poll: watch every partition with one channel, and read again
	// whenever one grows, until min bytes or the max wait.
	woke := make(chan struct{}, 1)
	parts := watchPartitions(env, req.Version, r, woke)
	defer func() {
		for _, p := range parts {
			p.Unwatch(woke)
		}
	}()
	timer := time.NewTimer(time.Duration(r.MaxWaitMillis) * time.Millisecond)
	defer timer.Stop()
	// NB: a write between the first read and Watch would be missed
	// without this second read.
	for {
		if total, urgent = fetchOnce(env, req.Version, r, resp, maxBytes, false); urgent || total >= int(r.MinBytes) {
			return resp, nil
		}
		select {
		case <-woke:
		case <-timer.C:
			return resp, nil
		case <-ctx.Done():
			return resp, nil
		}
	}
}

// watchPartitions registers woke with every requested partition that
// exists and returns them.
func watchPartitions(env *Env, version int16, r *kmsg.FetchRequest, woke chan<- struct{}) []*partition.Partition {
	img := env.Meta.Image()
	var out []*partition.Partition
	for _, rt := range r.Topics {
		name := rt.Topic
		if version >= 13 {
			t := img.TopicByID(metadata.UUID(rt.TopicID))
			if t == nil {
				continue
			}
			name = t.Name
		}
		for _, rp := range rt.Partitions {
			if p := env.Parts.Get(name, rp.Partition); p != nil {
				p.Watch(woke)
				out = append(out, p)
			}
		}
	}
	return out
}

// sessionCheck answers the fetch-session fields: full fetches (epoch -1)
// and requests to open a session (id 0, epoch 0) proceed sessionless; an
// incremental fetch on a session we never opened is refused.
func sessionCheck(r *kmsg.FetchRequest) int16 {
	switch {
	case r.SessionEpoch == -1, r.SessionID == 0 && r.SessionEpoch == 0:
		return 0
	case r.SessionID != 0:
		return kerr.FetchSessionIDNotFound.Code
	default:
		return kerr.InvalidFetchSessionEpoch.Code
	}
}

// fetchOnce fills resp's topics from scratch and returns the bytes
// gathered and whether any partition has an error or a diverging epoch.
// first is set for a request's first pass: a follower's fetch offset is
// recorded then (repeating it on the passes of a long poll would make a
// follower that keeps up look as if it fell behind).
func fetchOnce(env *Env, version int16, r *kmsg.FetchRequest, resp *FetchResponse, maxBytes int32, first bool) (total int, urgent bool) {
	img := env.Meta.Image()
	resp.Topics = resp.Topics[:0]
	resp.Sections = resp.Sections[:0]
	for _, rt := range r.Topics {
		st := kmsg.NewFetchResponseTopic()
		secs := make([]storage.ReadResult, len(rt.Partitions))
		st.Topic = rt.Topic
		st.TopicID = rt.TopicID
		name := rt.Topic
		topicErr := int16(0)
		if version >= 13 {
			if t := img.TopicByID(metadata.UUID(rt.TopicID)); t != nil {
				name = t.Name
			} else {
				topicErr = kerr.UnknownTopicID.Code
			}
		} else if img.Topic(name) == nil {
			topicErr = kerr.UnknownTopicOrPartition.Code
		}
		for _, rp := range rt.Partitions {
			sp := kmsg.NewFetchResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.HighWatermark, sp.LastStableOffset, sp.LogStartOffset = -1, -1, -1
			// NB: an empty record set, never a null one: librdkafka
			// rejects a null (size -1) set as a protocol error.
			sp.RecordBatches = []byte{}
			if topicErr != 0 {
				sp.ErrorCode = topicErr
				st.Partitions = append(st.Partitions, sp)
				continue
			}
			p, err := replicaOrNotLeader(env, img, name, rp.Partition)
			if err != nil {
				sp.ErrorCode = errorCode(err)
				st.Partitions = append(st.Partitions, sp)
				continue
			}
			limit := rp.PartitionMaxBytes
			if left := maxBytes - int32(total); left < limit {
				limit = left
			}
			fr := fetchRead{replica: r.ReplicaID, record: first, limit: limit, minOne: total == 0}
			n, diverged := fetchPartition(p, rp, fr, &sp, &secs[len(st.Partitions)])
			total += n
			urgent = urgent || diverged || sp.ErrorCode != 0
			st.Partitions = append(st.Partitions, sp)
		}
		for i := range st.Partitions {
			urgent = urgent || st.Partitions[i].ErrorCode != 0
		}
		resp.Topics = append(resp.Topics, st)
		resp.Sections = append(resp.Sections, secs)
	}
	return total, urgent
}

// fetchRead is how one partition of a fetch is read.
type fetchRead struct {
	replica int32 // the fetching follower's broker id, -1 for a consumer
	record  bool  // record the follower's fetch offset (first pass only)
	limit   int32 // bytes
	minOne  bool  // return the first batch even if larger than limit (KIP-74)
}

// fetchPartition reads one partition into sp and sec and returns the bytes
// read and whether the client's log diverged from ours. A follower reads
// up to the log end (consumers up to the HW), and its fetch offset tells
// the leader how far its log goes.
func fetchPartition(p *partition.Partition, rp kmsg.FetchRequestTopicPartition, fr fetchRead, sp *kmsg.FetchResponseTopicPartition, sec *storage.ReadResult) (int, bool) {
	if err := p.CheckLeaderEpoch(rp.CurrentLeaderEpoch); err != nil {
		sp.ErrorCode = errorCode(err)
		return 0, false
	}
	if rp.LastFetchedEpoch >= 0 {
		epoch, end := p.Log().EndOffsetForEpoch(rp.LastFetchedEpoch)
		if epoch < rp.LastFetchedEpoch || end < rp.FetchOffset {
			// The consumer's log diverged from ours: tell it where
			// its epoch really ends so it can truncate (KIP-320).
			sp.DivergingEpoch.Epoch = epoch
			sp.DivergingEpoch.EndOffset = end
			sp.HighWatermark = p.HighWatermark()
			sp.LastStableOffset = sp.HighWatermark
			sp.LogStartOffset = p.LogStartOffset()
			return 0, true
		}
	}
	res := partition.ReadResult{HighWatermark: p.HighWatermark(), LogStartOffset: p.LogStartOffset()}
	var err error
	if fr.replica >= 0 {
		if fr.record {
			err = p.UpdateFollowerFetch(fr.replica, rp.FetchOffset)
		}
		if err == nil {
			res, err = p.ReadLog(rp.FetchOffset, max(fr.limit, 0), fr.minOne)
		}
	} else {
		res, err = p.Read(rp.FetchOffset, max(fr.limit, 0), fr.minOne)
	}
	sp.HighWatermark = res.HighWatermark
	sp.LastStableOffset = res.HighWatermark
	sp.LogStartOffset = res.LogStartOffset
	if err != nil {
		sp.ErrorCode = errorCode(err)
		return 0, false
	}
	*sec = res.Data
	return int(res.Data.Size), false
}
