package metadata

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"
)

// rpc.go: the controller RPC. A method runs on the active controller;
// Call finds it (in-process when this node leads) and retries across
// leader changes until its context ends.

type handlerFunc func(ctx context.Context, req json.RawMessage) (any, error)

type rpcState struct {
	mu struct {
		sync.Mutex
		handlers map[string]handlerFunc
		// idle holds pooled client connections by address.
		idle map[string][]*rpcConn
		// hint is the leader address the last answering node named.
		hint string
		// down is the last address that could not be reached.
		down string
	}
}

func (r *rpcState) init() {
	r.mu.handlers = map[string]handlerFunc{}
	r.mu.idle = map[string][]*rpcConn{}
}

// Handle registers fn as the controller's handler of method. It is called
// only while this node is the active controller; its result is sent back
// as JSON. A Go error from fn reaches the caller as an error (Kafka errors
// belong in the response).
func (s *Store) Handle(method string, fn func(ctx context.Context, req json.RawMessage) (any, error)) {
	s.rpc.mu.Lock()
	defer s.rpc.mu.Unlock()
	s.rpc.mu.handlers[method] = fn
}

func (s *Store) handler(method string) handlerFunc {
	s.rpc.mu.Lock()
	defer s.rpc.mu.Unlock()
	return s.rpc.mu.handlers[method]
}

// errUnknownMethod is a method the controller has no handler for (yet: a
// controller that just started may not have registered it).
var errUnknownMethod = errors.New("metadata: unknown controller method")

// callBackoff bounds the pause between attempts of a Call while there is
// no leader or it just changed.
const (
	callBackoffMin = 5 * time.Millisecond
	callBackoffMax = 200 * time.Millisecond
)

// Call runs method on the active controller with req and decodes its
// answer into resp (nil to drop it). It retries while there is no leader,
// the leader changes, or the leader cannot be reached, until ctx ends.
// When it returns, this node's image holds everything the controller's
// image held when the method finished (so what the method wrote).
func (s *Store) Call(ctx context.Context, method string, req, resp any) error {
	body, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("metadata: encoding %s request: %w", method, err)
	}
	// NB: a Call in flight ends when the Store closes, whatever ctx says.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	defer context.AfterFunc(s.ctx, cancel)()
	backoff := callBackoffMin
	for attempt := 0; ; attempt++ {
		if s.ctx.Err() != nil {
			return ErrClosed
		}
		var out json.RawMessage
		if s.IsLeader() {
			out, err = s.serve(ctx, method, body)
		} else {
			out, err = s.callRemote(ctx, method, body, attempt)
		}
		if err == nil {
			if resp == nil || len(out) == 0 {
				return nil
			}
			return json.Unmarshal(out, resp)
		}
		if !retryable(err) {
			return err
		}
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (last error: %v)", s.ctxErr(ctx), err)
		case <-s.ctx.Done():
			t.Stop()
			return ErrClosed
		case <-t.C:
		}
		backoff = min(backoff*2, callBackoffMax)
	}
}

// serve runs method here, as the active controller.
func (s *Store) serve(ctx context.Context, method string, body json.RawMessage) (json.RawMessage, error) {
	if !s.IsLeader() {
		return nil, errNotLeader
	}
	var fn handlerFunc
	switch method {
	case methodPropose:
		fn = s.handlePropose
	case methodSync:
		fn = s.handleSync
	case methodJoin:
		fn = s.handleJoin
	case methodReport:
		fn = s.handleReport
	default:
		if fn = s.handler(method); fn == nil && method == MethodDescribeQuorum {
			fn = func(context.Context, json.RawMessage) (any, error) { return s.Quorum(), nil }
		}
	}
	if fn == nil {
		return nil, fmt.Errorf("%w: %q", errUnknownMethod, method)
	}
	out, err := fn(ctx, body)
	if err != nil {
		return nil, err
	}
	return json.Marshal(out)
}

// retryable reports whether a Call should try again (perhaps elsewhere).
func retryable(err error) bool {
	return errors.Is(err, errNotLeader) || errors.Is(err, errUnknownMethod) || errors.Is(err, errUnreachable)
}

// errUnreachable is a leader that could not be reached.
var errUnreachable = errors.New("metadata: controller unreachable")
