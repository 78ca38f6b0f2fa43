package handlers

// CreateTopics (key 19), v0–v7. validate_only runs every check and writes
// nothing. From v5 the response carries the resolved partition count,
// replication factor and configs; from v7 the topic id.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/strata-io/strata/internal/config"
	"github.com/strata-io/strata/internal/metadata"
)

func init() {
	register(API{Key: 19, MinVersion: 0, MaxVersion: 7, Handle: createTopics})
}

func createTopics(ctx context.Context, env *Env, req *Request) (kmsg.Response, error) {
	r := req.Body.(*kmsg.CreateTopicsRequest)
	resp := r.ResponseKind().(*kmsg.CreateTopicsResponse)
	count := map[string]int{}
	for _, t := range r.Topics {
		count[t.Topic]++
	}
	bc := env.Config()
	errs := make([]error, len(r.Topics))
	specs := make([]metadata.TopicSpec, len(r.Topics))
	for i, rt := range r.Topics {
		if count[rt.Topic] > 1 {
			errs[i] = errDuplicateTopic
			continue
		}
		specs[i], errs[i] = topicSpec(rt)
	}
	// NB: one metadata update for the whole request: one journal fsync and
	// one reconciliation (which opens the new partitions' logs in parallel)
	// rather than one of each per topic, which made a request for 1,000
	// topics take 1,000 fsyncs and 1,000 passes.
	created := make([]*metadata.Topic, len(r.Topics))
	update := func(img *metadata.Image) ([]metadata.Record, error) {
		var all []metadata.Record
		accepted := map[string]string{} // collision key → name, of this request's topics
		for i := range r.Topics {
			if errs[i] != nil || created[i] != nil {
				continue
			}
			recs, err := metadata.CreateTopicRecords(img, bc, specs[i])
			if err == nil {
				key := metadata.CollisionKey(specs[i].Name)
				if other, ok := accepted[key]; ok {
					err = fmt.Errorf("%w: topic %q collides with topic %q of the same request ('.' and '_' are treated alike)", metadata.ErrInvalidTopic, specs[i].Name, other)
				} else {
					accepted[key] = specs[i].Name
				}
			}
			if err != nil {
				errs[i] = err
				continue
			}
			created[i] = recs[0].Topic
			all = append(all, recs...)
		}
		if r.ValidateOnly {
			return nil, nil
		}
		return all, nil
	}
	uerr := env.Meta.Update(update)
	if uerr == nil && slices.ContainsFunc(errs, func(err error) bool { return errors.Is(err, metadata.ErrInvalidReplicationFactor) }) {
		// NB: placement ran on this broker's image, which may not yet
		// have a broker that registered a moment ago (a cluster that just
		// started); Kafka places on the controller's. Catch up with the
		// quorum and place those topics again.
		sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if env.Meta.Sync(sctx) == nil {
			for i, err := range errs {
				if errors.Is(err, metadata.ErrInvalidReplicationFactor) {
					errs[i] = nil
				}
			}
			uerr = env.Meta.Update(update)
		}
		cancel()
	}
	for i, rt := range r.Topics {
		st := kmsg.NewCreateTopicsResponseTopic()
		st.Topic = rt.Topic
		err := errs[i]
		if err == nil && uerr != nil {
			err = uerr // the journal write failed: no topic was created
		}
		switch {
		case errors.Is(err, errDuplicateTopic):
			st.ErrorCode = kerr.InvalidRequest.Code
			st.ErrorMessage = errorMessage(fmt.Errorf("topic %q appears more than once in the request", rt.Topic))
		case err != nil:
			st.ErrorCode = errorCode(err)
			st.ErrorMessage = errorMessage(err)
		default:
			fillCreatedTopic(&st, created[i], bc)
			if !r.ValidateOnly {
				env.Logger.Info("created topic", "topic", rt.Topic, "partitions", st.NumPartitions, "replication_factor", st.ReplicationFactor)
			}
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp, nil
}

var errDuplicateTopic = errors.New("topic appears more than once in the request")

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
