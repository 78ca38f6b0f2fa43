package handlers

// FindCoordinator (key 10), v0–v5. v4+ batches keys (KIP-699). Key type 0
// (group) creates __consumer_offsets on first use, as Kafka does, and
// names the leader of the group's partition. Key type 1 (transaction) is
// answered UNSUPPORTED_VERSION: transactions are not implemented, and a
// retriable COORDINATOR_NOT_AVAILABLE would have clients retry until
// they time out (InitProducerId answers a transactional id the same way).
// v6's share-group key type is not advertised.

import (
	"context"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() {
	register(API{Key: 10, MinVersion: 0, MaxVersion: 5, Handle: findCoordinator})
}

func findCoordinator(ctx context.Context, env *Env, req *Request) (kmsg.Response, error) {
	r := req.Body.(*kmsg.FindCoordinatorRequest)
	resp := r.ResponseKind().(*kmsg.FindCoordinatorResponse)
	if req.Version < 4 {
		c := lookupCoordinator(ctx, env, r.CoordinatorType, r.CoordinatorKey)
		resp.ErrorCode, resp.ErrorMessage = c.ErrorCode, c.ErrorMessage
		resp.NodeID, resp.Host, resp.Port = c.NodeID, c.Host, c.Port
		return resp, nil
	}
	for _, key := range r.CoordinatorKeys {
		resp.Coordinators = append(resp.Coordinators, lookupCoordinator(ctx, env, r.CoordinatorType, key))
	}
	return resp, nil
}

// loadWait bounds how long FindCoordinator waits for the group's shard
// to load on this broker before naming it (see Coordinator.WaitLoaded).
const loadWait = 5 * time.Second

func lookupCoordinator(ctx context.Context, env *Env, keyType int8, key string) kmsg.FindCoordinatorResponseCoordinator {
	c := kmsg.NewFindCoordinatorResponseCoordinator()
	c.Key = key
	c.NodeID, c.Port = -1, -1
	fail := func(code int16, msg string) kmsg.FindCoordinatorResponseCoordinator {
		c.ErrorCode = code
		c.ErrorMessage = &msg
		return c
	}
	switch keyType {
	case 0:
	case 1:
		return fail(kerr.UnsupportedVersion.Code, "transactions are not supported by this broker")
	default:
		return fail(kerr.InvalidRequest.Code, "unknown coordinator key type")
	}
	if err := env.Groups.EnsureTopic(); err != nil {
		return fail(kerr.CoordinatorNotAvailable.Code, err.Error())
	}
	node, code := env.Groups.CoordinatorFor(key)
	if code != 0 {
		return fail(code, "the group coordinator is not available yet")
	}
	if node == env.NodeID {
		env.Groups.WaitLoaded(ctx, key, loadWait)
	}
	b, ok := env.Meta.Image().Brokers[node]
	if !ok {
		return fail(kerr.CoordinatorNotAvailable.Code, "the coordinator's broker is not registered")
	}
	c.NodeID, c.Host, c.Port = b.NodeID, b.Host, b.Port
	return c
}
