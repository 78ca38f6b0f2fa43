package handlers

// CreatePartitions (key 37), v0–v3: grows topics to a new partition count,
// with the new partitions' replicas given explicitly or placed like
// CreateTopics places them. validate_only runs every check and writes
// nothing. A topic named twice in one request is INVALID_REQUEST for each
// occurrence; a count not above the current one is INVALID_PARTITIONS and
// a bad assignment INVALID_REPLICA_ASSIGNMENT, each with a message, as in
// Kafka. The new partitions can take writes once the response is sent.
// The timeout is not used: the change is applied before the response.

import (
	"context"
	"fmt"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/strata-io/strata/internal/metadata"
)

func init() {
	register(API{Key: 37, MinVersion: 0, MaxVersion: 3, Handle: createPartitions})
}

func createPartitions(_ context.Context, env *Env, req *Request) (kmsg.Response, error) {
	r := req.Body.(*kmsg.CreatePartitionsRequest)
	resp := r.ResponseKind().(*kmsg.CreatePartitionsResponse)
	count := map[string]int{}
	for _, rt := range r.Topics {
		count[rt.Topic]++
	}
	for _, rt := range r.Topics {
		st := kmsg.NewCreatePartitionsResponseTopic()
		st.Topic = rt.Topic
		var err error
		if count[rt.Topic] > 1 {
			err = fmt.Errorf("%w: topic %q appears more than once in the request", errInvalidRequest, rt.Topic)
		} else {
			err = createTopicPartitions(env, rt, r.ValidateOnly)
		}
		st.ErrorCode = errorCode(err)
		st.ErrorMessage = errorMessage(err)
		resp.Topics = append(resp.Topics, st)
	}
	return resp, nil
}

func createTopicPartitions(env *Env, rt kmsg.CreatePartitionsRequestTopic, validateOnly bool) error {
	var assignment [][]int32
	for _, a := range rt.Assignment {
		assignment = append(assignment, a.Replicas)
	}
	err := env.Meta.Update(func(img *metadata.Image) ([]metadata.Record, error) {
		if metadata.IsInternalTopic(rt.Topic) && img.Topic(rt.Topic) != nil {
			// Groups are placed by hash modulo the partition count:
			// more partitions would move every group's state.
			return nil, fmt.Errorf("%w: the partitions of %s cannot be changed", metadata.ErrInternalTopic, rt.Topic)
		}
		recs, err := metadata.CreatePartitionsRecords(img, rt.Topic, rt.Count, assignment)
		if err != nil || validateOnly {
			return nil, err
		}
		return recs, nil
	})
	if err == nil && !validateOnly {
		env.Logger.Info("created partitions", "topic", rt.Topic, "partitions", rt.Count)
	}
	return err
}
