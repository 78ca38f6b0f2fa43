package metadata

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"sort"
	"time"
)

// rpc_wire.go: the controller RPC between nodes. After the connection's
// first byte (connRPC), each request is one JSON value and each answer
// another, in turn; a connection carries one call at a time and goes back
// to a small pool after it.

type rpcRequest struct {
	Method string          `json:"method"`
	Body   json.RawMessage `json:"body"`
	// TimeoutMs is what is left of the caller's deadline (0: none).
	TimeoutMs int64 `json:"timeout_ms,omitempty"`
}

type rpcResponse struct {
	Body  json.RawMessage `json:"body,omitempty"`
	Error *rpcError       `json:"error,omitempty"`
	// Offset is the answering node's image offset after the method ran:
	// the caller waits for its own image to reach it, so what a method
	// wrote is visible to its caller when Call returns.
	Offset int64 `json:"offset"`
}

// rpcError carries a Go error across, keeping the sentinels callers test
// with errors.Is.
type rpcError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// LeaderAddr is the controller address of the leader as the answering
	// node knows it (with code not_leader).
	LeaderAddr string `json:"leader_addr,omitempty"`
}

var rpcSentinels = []struct {
	code string
	err  error
}{
	{"not_leader", errNotLeader},
	{"conflict", ErrConflict},
	{"stale", ErrStale},
	{"invalid_record", ErrInvalidRecord},
	{"unknown_method", errUnknownMethod},
	{"closed", ErrClosed},
	{"timeout", context.DeadlineExceeded},
}

func (s *Store) encodeError(err error) *rpcError {
	e := &rpcError{Code: "error", Message: err.Error()}
	for _, sn := range rpcSentinels {
		if errors.Is(err, sn.err) {
			e.Code = sn.code
			break
		}
	}
	if e.Code == "not_leader" || e.Code == "closed" {
		if _, addr := s.leader(); addr != "" && addr != s.advertised() {
			e.LeaderAddr = addr
		}
	}
	return e
}

// remoteError is an error answered by another node.
type remoteError struct {
	sentinel error // nil for an error with no sentinel
	msg      string
	leader   string
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.sentinel }

func decodeError(e *rpcError) error {
	out := &remoteError{msg: e.Message, leader: e.LeaderAddr}
	for _, sn := range rpcSentinels {
		if sn.code == e.Code {
			out.sentinel = sn.err
		}
	}
	if e.Code == "closed" { // that node is stopping: ask another
		out.sentinel = errNotLeader
	}
	return out
}

// serveRPCConn answers requests on one connection until it fails or the
// Store closes (which closes the connection).
func (s *Store) serveRPCConn(c net.Conn) {
	dec := json.NewDecoder(bufio.NewReader(c))
	w := bufio.NewWriter(c)
	enc := json.NewEncoder(w)
	for {
		var req rpcRequest
		if err := dec.Decode(&req); err != nil {
			return
		}
		ctx, cancel := s.ctx, context.CancelFunc(func() {})
		if req.TimeoutMs > 0 {
			ctx, cancel = context.WithTimeout(s.ctx, time.Duration(req.TimeoutMs)*time.Millisecond)
		}
		var resp rpcResponse
		out, err := s.serve(ctx, req.Method, req.Body)
		cancel()
		if err != nil {
			resp.Error = s.encodeError(err)
		} else {
			resp.Body = out
			resp.Offset = s.Image().Offset
		}
		if err := enc.Encode(&resp); err != nil {
			return
		}
		if err := w.Flush(); err != nil {
			return
		}
	}
}

// rpcConn is a pooled client connection.
type rpcConn struct {
	c   net.Conn
	dec *json.Decoder
	w   *bufio.Writer
	enc *json.Encoder
}

// rpcPoolSize is how many idle connections are kept per peer.
const rpcPoolSize = 4

// rpcDialTimeout bounds one connection attempt (a dead peer's address
// must not hold a Call for long: it has others to try).
const rpcDialTimeout = time.Second

func (s *Store) getConn(ctx context.Context, addr string) (*rpcConn, error) {
	s.rpc.mu.Lock()
	if idle := s.rpc.mu.idle[addr]; len(idle) > 0 {
		c := idle[len(idle)-1]
		s.rpc.mu.idle[addr] = idle[:len(idle)-1]
		s.rpc.mu.Unlock()
		return c, nil
	}
	s.rpc.mu.Unlock()
	d := net.Dialer{Timeout: rpcDialTimeout}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if _, err := c.Write([]byte{connRPC}); err != nil {
		c.Close()
		return nil, err
	}
	w := bufio.NewWriter(c)
	return &rpcConn{c: c, dec: json.NewDecoder(bufio.NewReader(c)), w: w, enc: json.NewEncoder(w)}, nil
}

func (s *Store) putConn(addr string, c *rpcConn) {
	s.rpc.mu.Lock()
	defer s.rpc.mu.Unlock()
	if s.ctx.Err() != nil || len(s.rpc.mu.idle[addr]) >= rpcPoolSize {
		c.c.Close()
		return
	}
	s.rpc.mu.idle[addr] = append(s.rpc.mu.idle[addr], c)
}

// closeConns closes the idle client connections (at Close).
func (s *Store) closeConns() {
	s.rpc.mu.Lock()
	defer s.rpc.mu.Unlock()
	for _, cs := range s.rpc.mu.idle {
		for _, c := range cs {
			c.c.Close()
		}
	}
	s.rpc.mu.idle = map[string][]*rpcConn{}
}

// callRemote sends one request to the node most likely to lead: the one
// a node last named as leader, else the observed leader, else the voters
// in turn (a non-voter that has not joined yet knows no leader).
func (s *Store) callRemote(ctx context.Context, method string, body json.RawMessage, attempt int) (json.RawMessage, error) {
	addr := s.target(attempt)
	if addr == "" {
		return nil, fmt.Errorf("%w: no known controller", errNotLeader)
	}
	req := rpcRequest{Method: method, Body: body}
	if d, ok := ctx.Deadline(); ok {
		req.TimeoutMs = max(time.Until(d).Milliseconds(), 1)
	}
	c, err := s.getConn(ctx, addr)
	if err != nil {
		s.unreachable(addr)
		return nil, fmt.Errorf("%w: %s: %v", errUnreachable, addr, err)
	}
	stop := context.AfterFunc(ctx, func() { _ = c.c.SetDeadline(time.Now()) })
	var resp rpcResponse
	err = c.enc.Encode(&req)
	if err == nil {
		err = c.w.Flush()
	}
	if err == nil {
		err = c.dec.Decode(&resp)
	}
	if !stop() || err != nil {
		c.c.Close()
		if err == nil {
			err = ctx.Err()
		}
		s.unreachable(addr)
		return nil, fmt.Errorf("%w: %s: %v", errUnreachable, addr, err)
	}
	s.putConn(addr, c)
	s.rpc.mu.Lock()
	if s.rpc.mu.down == addr {
		s.rpc.mu.down = ""
	}
	s.rpc.mu.Unlock()
	if resp.Error != nil {
		rerr := decodeError(resp.Error)
		if re := rerr.(*remoteError); re.leader != "" {
			s.rpc.mu.Lock()
			s.rpc.mu.hint = re.leader
			s.rpc.mu.Unlock()
		}
		return nil, rerr
	}
	if err := s.waitOffset(ctx, resp.Offset); err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// target picks the address to try: a leader hint from the last answer,
// else the observed leader (unless it was just unreachable), else the
// other voters in turn.
func (s *Store) target(attempt int) string {
	s.rpc.mu.Lock()
	defer s.rpc.mu.Unlock()
	if h := s.rpc.mu.hint; h != "" {
		s.rpc.mu.hint = ""
		return h
	}
	id, addr := s.leader()
	if id >= 0 && id != s.opts.NodeID && addr != "" && addr != s.rpc.mu.down {
		return addr
	}
	var others []string
	for vid, a := range s.voters {
		if vid != s.opts.NodeID {
			others = append(others, a)
		}
	}
	if len(others) == 0 {
		return ""
	}
	sort.Strings(others)
	return others[attempt%len(others)]
}

// unreachable remembers that addr did not answer, so the next attempt
// asks another voter instead of the leader we last observed.
func (s *Store) unreachable(addr string) {
	s.rpc.mu.Lock()
	defer s.rpc.mu.Unlock()
	s.rpc.mu.down = addr
	for _, c := range s.rpc.mu.idle[addr] {
		c.c.Close()
	}
	delete(s.rpc.mu.idle, addr)
}

// advertised is this node's controller address ("" without a listener).
func (s *Store) advertised() string {
	if s.mux == nil {
		return ""
	}
	return s.mux.advertise
}
