package metadata

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// quorum.go: membership and the quorum's state. Voters are fixed by
// controller.quorum.voters (every voter bootstraps with the same set);
// other brokers join as Raft non-voters by asking the leader, so they
// receive the log without counting toward the majority.
//
// The library does not expose the leader's view of each follower's log
// (its match index), so every non-leader reports its own last log index
// to the leader now and then; Quorum shows those reports and -1 where
// there is none.

const (
	methodJoin   = "metadata.join"
	methodReport = "metadata.report"
)

// joinRequest asks the leader to add a non-voter.
type joinRequest struct {
	NodeID int32  `json:"node_id"`
	Addr   string `json:"addr"`
}

// reportRequest is a member's own view of its log.
type reportRequest struct {
	NodeID       int32 `json:"node_id"`
	LastLogIndex int64 `json:"last_log_index"`
}

// reportInterval is how often non-leaders report to the leader.
const reportInterval = time.Second

// joinRetry bounds the pause between join attempts.
const joinRetry = 200 * time.Millisecond

// reports is the leader's record of members' reports (any node may have
// one from an earlier term; only the leader's is shown).
type reports struct {
	mu struct {
		sync.Mutex
		byNode map[int32]memberReport
	}
}

type memberReport struct {
	lastLogIndex int64
	at           time.Time
	caughtUpAt   time.Time
}

// startJoin asks the leader, until it answers, to add this node as a
// non-voter. A node already in the configuration (a restart) is answered
// at once.
func (s *Store) startJoin() {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		req := joinRequest{NodeID: s.opts.NodeID, Addr: s.advertised()}
		for {
			ctx, cancel := context.WithTimeout(s.ctx, UpdateTimeout)
			err := s.Call(ctx, methodJoin, req, nil)
			cancel()
			if err == nil {
				s.log.Info("metadata: joined the quorum as a non-voter")
				return
			}
			if s.ctx.Err() != nil {
				return
			}
			s.log.Info("metadata: joining the quorum, will retry", "err", err)
			select {
			case <-s.ctx.Done():
				return
			case <-time.After(joinRetry):
			}
		}
	}()
}

// handleJoin runs on the leader: add the node as a non-voter, unless it
// is already in the configuration at that address.
func (s *Store) handleJoin(ctx context.Context, body json.RawMessage) (any, error) {
	var req joinRequest
	if err := json.Unmarshal(body, &req); err != nil || req.Addr == "" {
		return nil, fmt.Errorf("metadata: bad join request %s", body)
	}
	f := s.raft.GetConfiguration()
	if err := s.await(ctx, f); err != nil {
		return nil, leaderError(err)
	}
	id := serverID(req.NodeID)
	for _, srv := range f.Configuration().Servers {
		if srv.ID != id {
			continue
		}
		if srv.Suffrage == raft.Voter {
			return nil, fmt.Errorf("metadata: node %d is a voter; only brokers outside controller.quorum.voters join as non-voters", req.NodeID)
		}
		if string(srv.Address) == req.Addr {
			return struct{}{}, nil
		}
	}
	timeout := time.Duration(0)
	if d, ok := ctx.Deadline(); ok {
		timeout = max(time.Until(d), time.Millisecond)
	}
	if err := s.await(ctx, s.raft.AddNonvoter(id, raft.ServerAddress(req.Addr), 0, timeout)); err != nil {
		return nil, leaderError(err)
	}
	s.log.Info("metadata: added a non-voter", "joined_id", req.NodeID, "addr", req.Addr)
	return struct{}{}, nil
}

// startReports makes a non-leader report its log to the leader every
// reportInterval (a node with no listener is a lone voter: nothing to do).
func (s *Store) startReports() {
	if s.mux == nil {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(reportInterval)
		defer t.Stop()
		for {
			select {
			case <-s.ctx.Done():
				return
			case <-t.C:
			}
			if s.IsLeader() || s.LeaderID() < 0 {
				continue
			}
			ctx, cancel := context.WithTimeout(s.ctx, reportInterval)
			_ = s.Call(ctx, methodReport, reportRequest{NodeID: s.opts.NodeID, LastLogIndex: int64(s.raft.LastIndex())}, nil)
			cancel()
		}
	}()
}

func (s *Store) handleReport(_ context.Context, body json.RawMessage) (any, error) {
	var req reportRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return nil, fmt.Errorf("metadata: bad report %s", body)
	}
	now := time.Now()
	commit := statInt(s.raft.Stats(), "commit_index")
	s.reports.mu.Lock()
	defer s.reports.mu.Unlock()
	r := s.reports.mu.byNode[req.NodeID]
	r.lastLogIndex, r.at = req.LastLogIndex, now
	if req.LastLogIndex >= commit {
		r.caughtUpAt = now
	}
	s.reports.mu.byNode[req.NodeID] = r
	return struct{}{}, nil
}

func statInt(stats map[string]string, key string) int64 {
	n, err := strconv.ParseInt(stats[key], 10, 64)
	if err != nil {
		return -1
	}
	return n
}

// Quorum describes the metadata quorum. It is meaningful on the leader
// (elsewhere: Call(MethodDescribeQuorum)). Offsets are Raft log indexes;
// a follower's is its last report (up to a second old), -1 if none yet.
func (s *Store) Quorum() QuorumInfo {
	stats := s.raft.Stats()
	q := QuorumInfo{
		LeaderID:      s.LeaderID(),
		LeaderEpoch:   int32(statInt(stats, "term")),
		HighWatermark: statInt(stats, "commit_index"),
		Voters:        []ReplicaInfo{},
		Observers:     []ReplicaInfo{},
	}
	ctx, cancel := context.WithTimeout(s.ctx, barrierTimeout)
	defer cancel()
	f := s.raft.GetConfiguration()
	if s.await(ctx, f) != nil {
		return q
	}
	leading := s.IsLeader()
	now := time.Now().UnixMilli()
	s.reports.mu.Lock()
	defer s.reports.mu.Unlock()
	for _, srv := range f.Configuration().Servers {
		id := parseServerID(srv.ID)
		ri := ReplicaInfo{NodeID: id, Addr: string(srv.Address), LogEndOffset: -1, LastFetchUnixMs: -1, LastCaughtUpUnixMs: -1}
		switch r, ok := s.reports.mu.byNode[id]; {
		case id == s.opts.NodeID && leading:
			ri.LogEndOffset = int64(s.raft.LastIndex())
			ri.LastFetchUnixMs, ri.LastCaughtUpUnixMs = now, now
		case id == s.opts.NodeID:
			ri.LogEndOffset = int64(s.raft.LastIndex())
		case ok && leading:
			ri.LogEndOffset = r.lastLogIndex
			ri.LastFetchUnixMs = r.at.UnixMilli()
			if !r.caughtUpAt.IsZero() {
				ri.LastCaughtUpUnixMs = r.caughtUpAt.UnixMilli()
			}
		}
		if srv.Suffrage == raft.Voter {
			q.Voters = append(q.Voters, ri)
		} else {
			q.Observers = append(q.Observers, ri)
		}
	}
	sort.Slice(q.Voters, func(i, j int) bool { return q.Voters[i].NodeID < q.Voters[j].NodeID })
	sort.Slice(q.Observers, func(i, j int) bool { return q.Observers[i].NodeID < q.Observers[j].NodeID })
	return q
}
