package handlers

// CreateTopics (key 19), v0–v7. validate_only runs every check and writes
// nothing. From v5 the response carries the resolved partition count,
// replication factor and configs; from v7 the topic id.

import (
	"context"
	"fmt"
	"sort"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/strata-io/strata/internal/config"
	"github.com/strata-io/strata/internal/metadata"
)

func init() {
	register(API{Key: 19, MinVersion: 0, MaxVersion: 7, Handle: createTopics})
}

func createTopics(_ context.Context, env *Env, req *Request) (kmsg.Response, error) {
	r := req.Body.(*kmsg.CreateTopicsRequest)
	resp := r.ResponseKind().(*kmsg.CreateTopicsResponse)
	count := map[string]int{}
	for _, t := range r.Topics {
		count[t.Topic]++
	}
	bc := env.Config()
	for _, rt := range r.Topics {
		st := kmsg.NewCreateTopicsResponseTopic()
		st.Topic = rt.Topic
		var err error
		if count[rt.Topic] > 1 {
			st.ErrorCode = kerr.InvalidRequest.Code
			st.ErrorMessage = errorMessage(fmt.Errorf("topic %q appears more than once in the request", rt.Topic))
			resp.Topics = append(resp.Topics, st)
			continue
		}
		spec, err := topicSpec(rt)
		if err == nil {
			var created *metadata.Topic
			err = env.Meta.Update(func(img *metadata.Image) ([]metadata.Record, error) {
				recs, err := metadata.CreateTopicRecords(img, bc, spec)
				if err != nil {
					return nil, err
				}
				created = recs[0].Topic
				if r.ValidateOnly {
					return nil, nil
				}
				return recs, nil
			})
			if err == nil {
				fillCreatedTopic(&st, created, bc)
			}
		}
		st.ErrorCode = errorCode(err)
		st.ErrorMessage = errorMessage(err)
		if err == nil && !r.ValidateOnly {
			env.Logger.Info("created topic", "topic", rt.Topic, "partitions", st.NumPartitions, "replication_factor", st.ReplicationFactor)
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp, nil
}

func topicSpec(rt kmsg.CreateTopicsRequestTopic) (metadata.TopicSpec, error) {
	spec := metadata.TopicSpec{
		Name:              rt.Topic,
		NumPartitions:     rt.NumPartitions,
		ReplicationFactor: rt.ReplicationFactor,
		Configs:           map[string]string{},
	}
	if len(rt.ReplicaAssignment) > 0 {
		spec.Assignment = make([][]int32, len(rt.ReplicaAssignment))
		for _, a := range rt.ReplicaAssignment {
			if a.Partition < 0 || int(a.Partition) >= len(spec.Assignment) || spec.Assignment[a.Partition] != nil {
				return spec, fmt.Errorf("%w: partition ids must be 0..%d, each once", metadata.ErrInvalidReplicaAssignment, len(spec.Assignment)-1)
			}
			spec.Assignment[a.Partition] = a.Replicas
		}
	}
	for _, c := range rt.Configs {
		if c.Value == nil {
			return spec, fmt.Errorf("%w: config %q has a null value", config.ErrInvalid, c.Name)
		}
		spec.Configs[c.Name] = *c.Value
	}
	return spec, nil
}

func fillCreatedTopic(st *kmsg.CreateTopicsResponseTopic, t *metadata.Topic, bc config.Broker) {
	st.TopicID = t.ID
	st.NumPartitions = int32(len(t.Partitions))
	st.ReplicationFactor = int16(len(t.Partitions[0].Replicas))
	tc := bc.Topic(t.Configs)
	names := tc.Names()
	sort.Strings(names)
	for _, name := range names {
		c := kmsg.NewCreateTopicsResponseTopicConfig()
		c.Name = name
		v := tc.Get(name)
		c.Value = &v
		c.Source = int8(topicConfigSource(tc, bc, name))
		st.Configs = append(st.Configs, c)
	}
}

// topicConfigSource is where a topic config's value comes from, as
// DescribeConfigs reports it.
func topicConfigSource(tc config.TopicConfig, bc config.Broker, name string) kmsg.ConfigSource {
	switch {
	case tc.IsOverride(name):
		return kmsg.ConfigSourceDynamicTopicConfig
	case bc.IsSet(config.TopicSynonyms[name]):
		return kmsg.ConfigSourceStaticBrokerConfig
	default:
		return kmsg.ConfigSourceDefaultConfig
	}
}
