package metadata

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
)

// raftlog.go: hashicorp/raft logs through hclog; this sends its lines to
// the broker's slog logger.
//
// NB: each level is moved one step down. The library logs every state
// transition at INFO and expected events at WARN ("heartbeat timeout
// reached, starting election" on every start of a single node); the Store
// logs leadership changes itself, so the library's lines are detail.

type hclogAdapter struct {
	hclog.Logger // a null logger: answers the methods not overridden below
	log          *slog.Logger
	name         string
	args         []any
	netLimit     *netLimiter // shared by the adapter's copies
}

func newHclog(l *slog.Logger) hclog.Logger {
	return &hclogAdapter{Logger: hclog.NewNullLogger(), log: l.With("component", "raft"), netLimit: &netLimiter{last: map[string]time.Time{}}}
}

// netLimiter lets one line about an unreachable peer through per message
// per netLogEvery: while a peer is down the library retries (and logs)
// every few milliseconds.
type netLimiter struct {
	mu   sync.Mutex
	last map[string]time.Time
}

const netLogEvery = 30 * time.Second

func (l *netLimiter) allow(msg string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if t, ok := l.last[msg]; ok && now.Sub(t) < netLogEvery {
		return false
	}
	l.last[msg] = now
	return true
}

func (h *hclogAdapter) Log(level hclog.Level, msg string, args ...any) {
	lvl := slog.LevelDebug
	switch {
	case level >= hclog.Error:
		lvl = slog.LevelWarn
	case level == hclog.Warn:
		lvl = slog.LevelInfo
	}
	switch {
	case lvl <= slog.LevelDebug:
	case closedConn(args):
		lvl = slog.LevelDebug // our own Close cut the connection
	case netError(args):
		lvl = slog.LevelInfo
		if !h.netLimit.allow(msg) {
			lvl = slog.LevelDebug
		}
	}
	if !h.log.Enabled(context.Background(), lvl) {
		return
	}
	if h.name != "" {
		msg = h.name + ": " + msg
	}
	all := append(append([]any(nil), h.args...), args...)
	if len(all)%2 == 1 { // hclog tolerates an odd count; slog would print !BADKEY
		all = append(all, "")
	}
	for i := 0; i < len(all); i += 2 {
		if _, ok := all[i].(string); !ok {
			all[i] = fmt.Sprint(all[i])
		}
		if e, ok := all[i+1].(error); ok {
			all[i+1] = e.Error()
		}
	}
	h.log.Log(context.Background(), lvl, msg, all...)
}

func (h *hclogAdapter) Trace(msg string, args ...any) { h.Log(hclog.Trace, msg, args...) }
func (h *hclogAdapter) Debug(msg string, args ...any) { h.Log(hclog.Debug, msg, args...) }
func (h *hclogAdapter) Info(msg string, args ...any)  { h.Log(hclog.Info, msg, args...) }
func (h *hclogAdapter) Warn(msg string, args ...any)  { h.Log(hclog.Warn, msg, args...) }
func (h *hclogAdapter) Error(msg string, args ...any) { h.Log(hclog.Error, msg, args...) }

func (h *hclogAdapter) IsTrace() bool { return false }
func (h *hclogAdapter) IsDebug() bool { return h.log.Enabled(context.Background(), slog.LevelDebug) }
func (h *hclogAdapter) IsInfo() bool  { return h.log.Enabled(context.Background(), slog.LevelDebug) }
func (h *hclogAdapter) IsWarn() bool  { return h.log.Enabled(context.Background(), slog.LevelInfo) }
func (h *hclogAdapter) IsError() bool { return h.log.Enabled(context.Background(), slog.LevelWarn) }

func (h *hclogAdapter) With(args ...any) hclog.Logger {
	out := *h
	out.args = append(append([]any(nil), h.args...), args...)
	return &out
}

func (h *hclogAdapter) Named(name string) hclog.Logger {
	out := *h
	if out.name != "" {
		name = out.name + "." + name
	}
	out.name = name
	return &out
}

func (h *hclogAdapter) ResetNamed(name string) hclog.Logger {
	out := *h
	out.name = name
	return &out
}

func (h *hclogAdapter) Name() string { return h.name }

// closedConn reports whether a log line is about a connection closed on
// this side (at Close), which is expected, not a fault.
func closedConn(args []any) bool {
	for _, a := range args {
		if e, ok := a.(error); ok && errors.Is(e, net.ErrClosed) {
			return true
		}
	}
	return false
}

// netError reports whether a log line is about a peer that cannot be
// reached (refused, reset, timed out, closed by the peer).
func netError(args []any) bool {
	for _, a := range args {
		e, ok := a.(error)
		if !ok {
			continue
		}
		var op *net.OpError
		if errors.As(e, &op) || errors.Is(e, io.EOF) || errors.Is(e, io.ErrUnexpectedEOF) {
			return true
		}
	}
	return false
}
