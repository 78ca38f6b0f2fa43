package metadata

import (
	"context"
	"fmt"
	"log/slog"

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
}

func newHclog(l *slog.Logger) hclog.Logger {
	return &hclogAdapter{Logger: hclog.NewNullLogger(), log: l.With("component", "raft")}
}

func (h *hclogAdapter) Log(level hclog.Level, msg string, args ...any) {
	lvl := slog.LevelDebug
	switch {
	case level >= hclog.Error:
		lvl = slog.LevelWarn
	case level == hclog.Warn:
		lvl = slog.LevelInfo
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
