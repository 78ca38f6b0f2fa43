package handlers

// Fetch (key 1), v4–v13. Topic ids from v13; diverging-epoch detection
// (KIP-320) from v12 through LastFetchedEpoch. Fetch sessions (KIP-227)
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
)

func init() {
	register(API{Key: 1, MinVersion: 4, MaxVersion: 13, Handle: fetch})
}

func fetch(ctx context.Context, env *Env, req *Request) (kmsg.Response, error) {
	r := req.Body.(*kmsg.FetchRequest)
	resp := r.ResponseKind().(*kmsg.FetchResponse)
	if code := sessionCheck(r); code != 0 {
		resp.ErrorCode = code
		return resp, nil
	}
	maxBytes := r.MaxBytes
	if maxBytes <= 0 {
		maxBytes = 0x7fffffff // v0–v2 had no limit; a 0 means "none" too
	}
	deadline := time.Now().Add(time.Duration(r.MaxWaitMillis) * time.Millisecond)
	var timer *time.Timer
	for {
		var waits []<-chan struct{}
		total := fetchOnce(env, req.Version, r, resp, maxBytes, &waits)
		if total >= int(r.MinBytes) || r.MaxWaitMillis <= 0 || len(waits) == 0 {
			return resp, nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			return resp, nil
		}
		if timer == nil {
			timer = time.NewTimer(left)
			defer timer.Stop()
		}
		if !waitAny(ctx, timer.C, waits) {
			return resp, nil
		}
	}
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
// gathered. For each partition that returned nothing it adds the channel
// that closes when that partition grows.
func fetchOnce(env *Env, version int16, r *kmsg.FetchRequest, resp *kmsg.FetchResponse, maxBytes int32, waits *[]<-chan struct{}) int {
	img := env.Meta.Image()
	resp.Topics = resp.Topics[:0]
	total := 0
	for _, rt := range r.Topics {
		st := kmsg.NewFetchResponseTopic()
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
			if topicErr != 0 {
				sp.ErrorCode = topicErr
				st.Partitions = append(st.Partitions, sp)
				continue
			}
			p := env.Parts.Get(name, rp.Partition)
			if p == nil {
				sp.ErrorCode = kerr.UnknownTopicOrPartition.Code
				st.Partitions = append(st.Partitions, sp)
				continue
			}
			limit := rp.PartitionMaxBytes
			if left := maxBytes - int32(total); left < limit {
				limit = left
			}
			n := fetchPartition(env, p, rp, limit, total == 0, &sp)
			if n == 0 && sp.ErrorCode == 0 {
				*waits = append(*waits, p.Grown())
			}
			total += n
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return total
}

func fetchPartition(env *Env, p *partition.Partition, rp kmsg.FetchRequestTopicPartition, limit int32, first bool, sp *kmsg.FetchResponseTopicPartition) int {
	if err := p.CheckLeaderEpoch(rp.CurrentLeaderEpoch); err != nil {
		sp.ErrorCode = errorCode(err)
		return 0
	}
	if rp.LastFetchedEpoch >= 0 {
		epoch, end := p.Log().EndOffsetForEpoch(rp.LastFetchedEpoch)
		if epoch != rp.LastFetchedEpoch || end < rp.FetchOffset {
			// The consumer's log diverged from ours: tell it where
			// its epoch really ends so it can truncate (KIP-320).
			sp.DivergingEpoch.Epoch = epoch
			sp.DivergingEpoch.EndOffset = end
			sp.HighWatermark = p.HighWatermark()
			sp.LastStableOffset = sp.HighWatermark
			sp.LogStartOffset = p.LogStartOffset()
			return 0
		}
	}
	res, err := p.Read(rp.FetchOffset, max(limit, 0), first)
	sp.HighWatermark = res.HighWatermark
	sp.LastStableOffset = res.HighWatermark
	sp.LogStartOffset = res.LogStartOffset
	if err != nil {
		sp.ErrorCode = errorCode(err)
		return 0
	}
	if res.Data.Size == 0 {
		return 0
	}
	buf, err := res.Data.AppendTo(make([]byte, 0, res.Data.Size))
	if err != nil {
		env.Logger.Error("reading log", "topic", p.Topic, "partition", p.Index, "err", err)
		sp.ErrorCode = kerr.KafkaStorageError.Code
		return 0
	}
	sp.RecordBatches = buf
	return len(buf)
}

// waitAny blocks until one channel closes (true) or the timer fires or the
// broker shuts down (false).
func waitAny(ctx context.Context, timeout <-chan time.Time, chans []<-chan struct{}) bool {
	if len(chans) == 1 {
		select {
		case <-chans[0]:
			return true
		case <-timeout:
		case <-ctx.Done():
		}
		return false
	}
	// Many partitions: merge into one channel with a goroutine per
	// partition, all stopped when this returns.
	done := make(chan struct{})
	defer close(done)
	woke := make(chan struct{}, 1)
	for _, c := range chans {
		go func(c <-chan struct{}) {
			select {
			case <-c:
				select {
				case woke <- struct{}{}:
				default:
				}
			case <-done:
			}
		}(c)
	}
	select {
	case <-woke:
		return true
	case <-timeout:
	case <-ctx.Done():
	}
	return false
}
