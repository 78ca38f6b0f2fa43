package handlers

// Metadata (key 3), v0–v12. Topic ids from v10, lookup by id from v12.
// Unknown topics are created when auto.create.topics.enable is on and the
// request allows it (v4+; always allowed before v4, as in Kafka). A topic
// created here is returned with its partitions at once: a new partition's
// leader is chosen when it is created, so there is no LEADER_NOT_AVAILABLE
// window. Only unfenced brokers are listed (a fenced one is down or
// stopping: clients must not connect to it), and a partition's replicas
// on fenced brokers are its offline replicas (v5+).

import (
	"context"
	"errors"
	"net"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/strata-io/strata/internal/metadata"
)

func init() {
	register(API{Key: 3, MinVersion: 0, MaxVersion: 12, Handle: handleMetadata})
}

// allTopicOperations is the authorized-operations bitmask Kafka reports
// for a topic when no authorizer denies anything: READ, WRITE, CREATE,
// DELETE, ALTER, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS.
const allTopicOperations = 1<<3 | 1<<4 | 1<<5 | 1<<6 | 1<<7 | 1<<8 | 1<<10 | 1<<11

func handleMetadata(_ context.Context, env *Env, req *Request) (kmsg.Response, error) {
	r := req.Body.(*kmsg.MetadataRequest)
	resp := r.ResponseKind().(*kmsg.MetadataResponse)
	img := env.Meta.Image()

	all := r.Topics == nil || (req.Version == 0 && len(r.Topics) == 0)
	if all {
		for _, name := range img.TopicNames() {
			resp.Topics = append(resp.Topics, topicMetadata(img, img.Topic(name), r))
		}
	}
	autoCreate := env.Config().Bool("auto.create.topics.enable") && (req.Version < 4 || r.AllowAutoTopicCreation)
	for _, rt := range r.Topics {
		if all {
			break
		}
		if rt.Topic == nil {
			resp.Topics = append(resp.Topics, topicByID(img, metadata.UUID(rt.TopicID), r))
			continue
		}
		name := *rt.Topic
		t := img.Topic(name)
		if t == nil && autoCreate {
			var err error
			t, err = autoCreateTopic(env, name)
			if err != nil {
				rt := kmsg.NewMetadataResponseTopic()
				rt.Topic = &name
				rt.ErrorCode = errorCode(err)
				resp.Topics = append(resp.Topics, rt)
				continue
			}
		}
		if t == nil {
			mt := kmsg.NewMetadataResponseTopic()
			mt.Topic = &name
			mt.ErrorCode = kerr.UnknownTopicOrPartition.Code
			if metadata.ValidateTopicName(name) != nil {
				mt.ErrorCode = kerr.InvalidTopicException.Code
			}
			resp.Topics = append(resp.Topics, mt)
			continue
		}
		resp.Topics = append(resp.Topics, topicMetadata(img, t, r))
	}

	img = env.Meta.Image() // include brokers registered meanwhile
	for _, id := range img.UnfencedBrokerIDs() {
		b := img.Brokers[id]
		mb := kmsg.NewMetadataResponseBroker()
		mb.NodeID = b.NodeID
		mb.Host = b.Host
		mb.Port = b.Port
		if b.Rack != "" {
			rack := b.Rack
			mb.Rack = &rack
		}
		resp.Brokers = append(resp.Brokers, mb)
	}
	cid := img.ClusterID
	resp.ClusterID = &cid
	resp.ControllerID = controllerID(env, img)
	return resp, nil
}

func topicByID(img *metadata.Image, id metadata.UUID, r *kmsg.MetadataRequest) kmsg.MetadataResponseTopic {
	t := img.TopicByID(id)
	if t == nil {
		mt := kmsg.NewMetadataResponseTopic()
		mt.TopicID = id
		mt.ErrorCode = kerr.UnknownTopicID.Code
		return mt
	}
	return topicMetadata(img, t, r)
}

func topicMetadata(img *metadata.Image, t *metadata.Topic, r *kmsg.MetadataRequest) kmsg.MetadataResponseTopic {
	mt := kmsg.NewMetadataResponseTopic()
	name := t.Name
	mt.Topic = &name
	mt.TopicID = t.ID
	mt.IsInternal = metadata.IsInternalTopic(name)
	if r.IncludeTopicAuthorizedOperations {
		mt.AuthorizedOperations = allTopicOperations
	}
	mt.Partitions = make([]kmsg.MetadataResponseTopicPartition, len(t.Partitions))
	for i, p := range t.Partitions {
		mp := kmsg.NewMetadataResponseTopicPartition()
		mp.Partition = int32(i)
		mp.Leader = p.Leader
		mp.LeaderEpoch = p.LeaderEpoch
		mp.Replicas = p.Replicas
		mp.ISR = p.ISR
		for _, id := range p.Replicas {
			if b, ok := img.Brokers[id]; !ok || b.Fenced {
				mp.OfflineReplicas = append(mp.OfflineReplicas, id)
			}
		}
		if p.Leader < 0 {
			mp.ErrorCode = kerr.LeaderNotAvailable.Code
		}
		mt.Partitions[i] = mp
	}
	return mt
}

// autoCreateTopic creates name with the broker defaults; an existing topic
// (a concurrent create won the race) is returned as is.
func autoCreateTopic(env *Env, name string) (*metadata.Topic, error) {
	spec := metadata.TopicSpec{Name: name, NumPartitions: -1, ReplicationFactor: -1}
	err := env.Meta.Update(func(img *metadata.Image) ([]metadata.Record, error) {
		if img.Topic(name) != nil {
			return nil, nil
		}
		return metadata.CreateTopicRecords(img, env.Config(), spec)
	})
	if err != nil && !errors.Is(err, metadata.ErrTopicExists) {
		return nil, err
	}
	if t := env.Meta.Image().Topic(name); t != nil {
		env.Logger.Info("auto-created topic", "topic", name, "partitions", len(t.Partitions))
		return t, nil
	}
	return nil, metadata.ErrUnknownTopic
}

// SplitHostPort parses an advertised address into Kafka's host and port.
func SplitHostPort(addr string) (string, int32, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, err
	}
	p, err := strconv.ParseInt(port, 10, 32)
	if err != nil {
		return "", 0, err
	}
	return host, int32(p), nil
}

// controllerID is the node admin clients send CreateTopics and friends
// to: the active controller if it is a live broker, else the lowest live
// broker, else this one. Every broker serves those requests (they go
// through the metadata store, which forwards to the quorum leader), so
// like Kafka's KRaft brokers, which name a random live broker, this never
// names a node a client cannot reach, and is never -1.
func controllerID(env *Env, img *metadata.Image) int32 {
	if b, ok := img.Brokers[img.ControllerID]; ok && !b.Fenced {
		return img.ControllerID
	}
	if live := img.UnfencedBrokerIDs(); len(live) > 0 {
		return live[0]
	}
	return env.NodeID
}
