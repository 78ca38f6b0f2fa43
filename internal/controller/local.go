package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/strata-io/strata/internal/metadata"
)

// Local makes a metadata store without a quorum (a lone node, always its
// own controller) a Store: the controller RPCs run in-process, through
// JSON as they would over the wire.
//
// TODO: remove once the Raft-backed metadata.Store, which has Handle and
// Call of its own, has landed and the server passes it directly.
type Local struct {
	*metadata.Store
	NodeID int32

	mu       sync.Mutex
	handlers map[string]func(context.Context, json.RawMessage) (any, error)
}

// IsLeader is always true: a lone node is its own controller.
func (l *Local) IsLeader() bool { return true }

// OnLeadership never calls fn: leadership never changes.
func (l *Local) OnLeadership(func(bool)) {}

// Handle registers the handler of method.
func (l *Local) Handle(method string, fn func(context.Context, json.RawMessage) (any, error)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.handlers == nil {
		l.handlers = map[string]func(context.Context, json.RawMessage) (any, error){}
	}
	l.handlers[method] = fn
}

// Call runs method's handler in-process.
func (l *Local) Call(ctx context.Context, method string, req, resp any) error {
	l.mu.Lock()
	fn := l.handlers[method]
	l.mu.Unlock()
	if fn == nil {
		return fmt.Errorf("controller: no handler for %q", method)
	}
	raw, err := json.Marshal(req)
	if err != nil {
		return err
	}
	out, err := fn(ctx, raw)
	if err != nil {
		return err
	}
	b, err := json.Marshal(out)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, resp)
}

// Quorum is a quorum of one.
func (l *Local) Quorum() metadata.QuorumInfo {
	me := metadata.ReplicaInfo{NodeID: l.NodeID, LogEndOffset: l.Image().Offset, LastFetchUnixMs: -1, LastCaughtUpUnixMs: -1}
	return metadata.QuorumInfo{LeaderID: l.NodeID, LeaderEpoch: 1, HighWatermark: l.Image().Offset, Voters: []metadata.ReplicaInfo{me}}
}
