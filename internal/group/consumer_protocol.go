package group

// The KIP-848 side of the coordinator seam (seam.go): consumer groups'
// state behind ConsumerState, their loading from __consumer_offsets and
// their session and rebalance timers.

import (
	"time"

	"github.com/strata-io/strata/internal/config"
)

// ConsumerConfigFrom reads the group.consumer.* broker configs.
func ConsumerConfigFrom(b config.Broker) ConsumerConfig {
	cfg := ConsumerConfig{
		SessionTimeout:    time.Duration(b.Int(config.GroupConsumerSessionTimeoutMs)) * time.Millisecond,
		HeartbeatInterval: time.Duration(b.Int(config.GroupConsumerHeartbeatIntervalMs)) * time.Millisecond,
		MaxSize:           int(b.Int(config.GroupConsumerMaxSize)),
	}
	for _, name := range splitList(b.Str(config.GroupConsumerAssignors)) {
		if a := AssignorByName(name); a != nil {
			cfg.Assignors = append(cfg.Assignors, a)
		}
	}
	if len(cfg.Assignors) == 0 {
		cfg.Assignors = DefaultConsumerConfig().Assignors
	}
	return cfg
}

func splitList(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			if w := trimSpace(s[start:i]); w != "" {
				out = append(out, w)
			}
			start = i + 1
		}
	}
	return out
}

func trimSpace(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	for len(s) > 0 && (s[len(s)-1] == ' ' || s[len(s)-1] == '\t') {
		s = s[:len(s)-1]
	}
	return s
}

// consumerProtocol plugs ConsumerGroup into the coordinator.
type consumerProtocol struct {
	cfg ConsumerConfig
}

// NewConsumerProtocol returns the KIP-848 protocol for Options.Consumer.
func NewConsumerProtocol(cfg ConsumerConfig) ConsumerProtocol {
	return &consumerProtocol{cfg: cfg}
}

// consumerState is one consumer group as the coordinator holds it. All
// fields are guarded by the owning Group's mu.
type consumerState struct {
	g     *Group
	cg    *ConsumerGroup
	timer Timer // the next session or rebalance deadline of any member
}

func (p *consumerProtocol) New(g *Group) ConsumerState {
	return &consumerState{g: g, cg: NewConsumerGroup(g.id, p.cfg)}
}

func (p *consumerProtocol) GroupOf(key []byte) (string, error) {
	r, err := DecodeConsumerGroupRecord(key, nil)
	if err != nil {
		return "", err
	}
	return r.Group, nil
}

func (p *consumerProtocol) Replay(g *Group, key, value []byte) error {
	r, err := DecodeConsumerGroupRecord(key, value)
	if err != nil {
		return err
	}
	st, ok := g.consumer.(*consumerState)
	if !ok {
		return ErrBadRecord
	}
	if st.cg.Apply(r) {
		// The group was deleted; a later record may create it again.
		g.consumer = nil
		g.kind = KindNone
	}
	return nil
}

func (p *consumerProtocol) Loaded(g *Group, now time.Time) {
	if st, ok := g.consumer.(*consumerState); ok {
		st.cg.StartTimers(now)
		st.scheduleLocked()
	}
}

func (s *consumerState) Empty() bool       { return s.cg.IsEmpty() }
func (s *consumerState) StateName() string { return s.cg.State() }

func (s *consumerState) ValidateOffsetCommit(memberID string, memberEpoch int32, version int16) int16 {
	if e := s.cg.ValidateOffsetCommit(memberID, memberEpoch, version); e != nil {
		return e.Err.Code
	}
	return 0
}

func (s *consumerState) ValidateOffsetFetch(memberID string, memberEpoch int32) int16 {
	if e := s.cg.ValidateOffsetFetch(memberID, memberEpoch); e != nil {
		return e.Err.Code
	}
	return 0
}

func (s *consumerState) Subscribed(topic string) bool {
	_, ok := s.cg.Subscribed[topic]
	return ok
}

func (s *consumerState) TombstoneKeys() [][]byte {
	recs := s.cg.DeleteRecords()
	out := make([][]byte, len(recs))
	for i, r := range recs {
		out[i] = r.AppendKey(nil)
	}
	return out
}

func (s *consumerState) Close() {
	if s.timer != nil {
		s.timer.Stop()
		s.timer = nil
	}
}

// scheduleLocked arms the group's one timer for the earliest member
// deadline (g.mu held).
func (s *consumerState) scheduleLocked() {
	s.Close()
	next := s.cg.NextDeadline()
	if next.IsZero() {
		return
	}
	c := s.g.shard.c
	s.timer = c.afterFunc(max(next.Sub(c.now()), 0), s.expire)
}

// expire removes the members whose session or rebalance timeout passed
// and persists that; if the write fails the removal is undone and tried
// again at the next deadline.
func (s *consumerState) expire() {
	g := s.g
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.dead || g.consumer != ConsumerState(s) {
		return
	}
	c := g.shard.c
	recs, gone := s.cg.Expire(c.now(), c.meta.Image())
	if len(recs) > 0 {
		if err := g.shard.write(recordSpecs(recs)); err != nil {
			s.cg.RollbackLast()
			c.log.Warn("could not persist the removal of consumer group members", "group", g.id, "err", err)
		} else {
			c.log.Info("removed consumer group members whose session or rebalance timed out", "group", g.id, "members", gone)
		}
	}
	s.scheduleLocked()
}
