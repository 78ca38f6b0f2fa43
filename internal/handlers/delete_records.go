package handlers

// DeleteRecords (key 21), v0–v2: moves each partition's log start offset
// up to the requested offset (-1: the high watermark) and returns the new
// low watermark. An offset above the high watermark (or below -1) is
// OFFSET_OUT_OF_RANGE; one below the current log start changes nothing
// and returns the current start, as in Kafka. Whole segments below the new
// start are removed by the storage layer; records before it are never
// served again. The timeout is not used: with a single replica the low
// watermark is final when the call returns.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/strata-io/strata/internal/metadata"
)

func init() {
	register(API{Key: 21, MinVersion: 0, MaxVersion: 2, Handle: deleteRecords})
}

func deleteRecords(_ context.Context, env *Env, req *Request) (kmsg.Response, error) {
	r := req.Body.(*kmsg.DeleteRecordsRequest)
	resp := r.ResponseKind().(*kmsg.DeleteRecordsResponse)
	img := env.Meta.Image()
	for _, rt := range r.Topics {
		st := kmsg.NewDeleteRecordsResponseTopic()
		st.Topic = rt.Topic
		known := img.Topic(rt.Topic) != nil
		for _, rp := range rt.Partitions {
			sp := kmsg.NewDeleteRecordsResponseTopicPartition()
			sp.Partition = rp.Partition
			sp.LowWatermark = -1
			p := env.Parts.Get(rt.Topic, rp.Partition)
			switch {
			case !known || p == nil:
				sp.ErrorCode = kerr.UnknownTopicOrPartition.Code
			case metadata.IsInternalTopic(rt.Topic):
				// Kafka: "Cannot delete records of internal topic".
				sp.ErrorCode = kerr.InvalidTopicException.Code
			default:
				err := p.CheckLeaderEpoch(-1)
				var low int64
				if err == nil {
					low, err = p.DeleteRecordsBefore(rp.Offset)
				}
				if err != nil {
					sp.ErrorCode = errorCode(err)
					break
				}
				sp.LowWatermark = low
				env.Logger.Info("deleted records", "topic", rt.Topic, "partition", rp.Partition, "log_start_offset", low)
			}
			st.Partitions = append(st.Partitions, sp)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp, nil
}
