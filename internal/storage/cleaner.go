package storage

// The log cleaner compacts logs whose cleanup.policy has compact, as
// Kafka's LogCleaner does: one background goroutine (log.cleaner.threads=1)
// owned by the Manager picks the log with the highest dirty ratio at or
// above min.cleanable.dirty.ratio (or one that max.compaction.lag.ms or an
// expired delete horizon forces), and rewrites its closed segments keeping
// the last record of every key (see cleaner_log.go), swapping the rewritten
// segments in crash-safely (cleaner_swap.go). When no log needs it, it
// sleeps log.cleaner.backoff.ms.
//
// Where each log's clean part ends (its first dirty offset) is remembered
// in the data directory's cleaner-offset-checkpoint, in Kafka's format.
// Losing it costs only work: the next pass cleans the whole log again.
//
// The cleaner cleans only what a consumer may already have read and what
// no append can touch: whole closed segments below the high watermark (and
// older than min.compaction.lag.ms). Offsets never change; compaction
// leaves gaps, which every read serves by moving on to the next batch.

import (
	"bufio"
	"errors"
	"path/filepath"
	"sync"
	"time"

	"github.com/strata-io/strata/internal/record"
)

const cleanerCheckpointFile = "cleaner-offset-checkpoint"

// cleaner is a Manager's log cleaner.
type cleaner struct {
	m   *Manager
	env *storeEnv

	// runMu serializes cleaning passes (the background loop, tests); it
	// owns omap and bufs.
	runMu sync.Mutex
	omap  *offsetMap
	bufs  cleanerBuffers

	// hook, if set (tests), is called at each step of a pass, with the
	// log's mutex held for the steps of a swap. It sees the files on disk
	// exactly as a crash at that moment would leave them.
	hook func(step string, l *Log)
	// lastStats is what the last pass did (tests).
	lastStats cleanStats

	mu struct {
		sync.Mutex
		// firstDirty is each log's first offset not yet cleaned (the
		// checkpoint), kept for logs not open in this run too.
		firstDirty map[TopicPartition]int64
		// horizon is, per log, the earliest delete horizon of a tombstone
		// it kept: a pass is due then even if the log is not dirty. It is
		// learnt from each pass, and once per run from the batch headers
		// of a log's clean part (horizonKnown), so a restart does not
		// leave expired tombstones waiting for the dirty ratio.
		horizon      map[TopicPartition]int64
		horizonKnown map[TopicPartition]bool
		// uncleanable are the logs a pass failed on (an undecodable batch,
		// an I/O error): skipped until the next start, as Kafka marks
		// partitions uncleanable, so that one bad log does not stop the
		// cleaning of the others.
		uncleanable map[TopicPartition]bool
	}
}

// cleanerBuffers are the cleaner's reusable buffers, so a pass allocates
// nothing per batch or record.
type cleanerBuffers struct {
	read    []byte        // batchReader's buffer
	scratch []byte        // decompressed records
	records []byte        // surviving records, re-encoded
	batch   []byte        // a rebuilt batch
	write   *bufio.Writer // output buffer of the .cleaned file
	hdr     record.Header // the header of the batch being looked at
}

func newCleaner(m *Manager, dedupeBufferBytes int64) (*cleaner, error) {
	c := &cleaner{m: m, env: m.env, omap: newOffsetMap(dedupeBufferBytes)}
	cp, err := m.readCheckpoint(cleanerCheckpointFile)
	if err != nil {
		return nil, err
	}
	c.mu.firstDirty = cp
	c.mu.horizon = map[TopicPartition]int64{}
	c.mu.horizonKnown = map[TopicPartition]bool{}
	c.mu.uncleanable = map[TopicPartition]bool{}
	return c, nil
}

func (c *cleaner) step(name string, l *Log) {
	if c.hook != nil {
		c.hook(name, l)
	}
}

// runPasses cleans logs until none needs it or the Manager stops.
//
// NB: a log is cleaned again in the same round only if its last pass moved
// its first dirty offset: a log that stays due without progress (it cannot
// be helped this round) waits for the next backoff instead of spinning.
func (c *cleaner) runPasses() {
	started := map[TopicPartition]int64{} // first dirty offset at each log's last pass this round
	for {
		select {
		case <-c.m.stop.done:
			return
		default:
		}
		cleaned, err := c.cleanDirtiest(started)
		if !cleaned || errors.Is(err, ErrClosed) {
			return
		}
	}
}

// cleanDirtiest cleans the log that needs it most, if any; it reports
// whether it cleaned one. started, if not nil, holds the first dirty
// offset each log had when a pass on it began; a log whose first dirty
// offset has not moved since is passed over (and the map is updated).
func (c *cleaner) cleanDirtiest(started map[TopicPartition]int64) (bool, error) {
	c.runMu.Lock()
	defer c.runMu.Unlock()
	now := c.env.now().UnixMilli()
	var best *cleanable
	for _, l := range c.m.openLogs() {
		if !l.config().compact || l.closed.Load() || c.isUncleanable(l.tp) {
			continue
		}
		cl, err := c.cleanableOf(l, now)
		if err != nil {
			c.env.logger.Warn("log cleaner: judging log", "dir", l.dir, "err", err)
			continue
		}
		if cl == nil || !cl.due(l.config()) {
			continue
		}
		if fd, ok := started[l.tp]; ok && fd == cl.firstDirty {
			continue
		}
		if best == nil || cl.forced && !best.forced || cl.forced == best.forced && cl.ratio > best.ratio {
			best = cl
		}
	}
	if best == nil {
		return false, nil
	}
	if started != nil {
		started[best.l.tp] = best.firstDirty
	}
	err := c.cleanLog(best, now)
	if err != nil && !errors.Is(err, ErrClosed) && !errors.Is(err, errCleanAborted) {
		c.mu.Lock()
		c.mu.uncleanable[best.l.tp] = true
		c.mu.Unlock()
		c.env.logger.Error("log cleaner: cleaning failed; the log is not compacted again until the broker restarts", "dir", best.l.dir, "err", err)
	}
	return true, err
}

func (c *cleaner) isUncleanable(tp TopicPartition) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.mu.uncleanable[tp]
}

// cleanable is what a log offers the cleaner now.
type cleanable struct {
	l          *Log
	segs       []*segment // closed segments it may rewrite, from the one holding the log start offset
	firstDirty int64      // first offset not yet cleaned (clamped to the log)
	end        int64      // the first offset it may not clean: segs' end
	dirtyBytes int64
	cleanBytes int64
	ratio      float64
	forced     bool  // max.compaction.lag.ms passed, or a delete horizon
	truncs     int64 // l.truncations when judged
}

func (cl *cleanable) due(cfg *Config) bool {
	if cl.forced {
		return true
	}
	return cl.dirtyBytes > 0 && cl.ratio >= cfg.MinCleanableRatio
}

// cleanableOf works out which segments of l may be cleaned and how dirty
// they are; nil if none may.
func (c *cleaner) cleanableOf(l *Log, nowMs int64) (*cleanable, error) {
	cfg := l.config()
	segs := l.segments()
	hw, start := l.hw.Load(), l.logStart.Load()
	first := max(segmentFor(segs, start), 0)
	n := first
	// Whole closed segments below the high watermark, and (with
	// min.compaction.lag.ms) whose newest record is old enough.
	for ; n+1 < len(segs); n++ {
		if segs[n+1].base > hw {
			break
		}
		// NB: an empty segment (all its records cleaned away) has no
		// timestamp, and its file's mtime would hold the lag back.
		if cfg.MinCompactionLagMs > 0 && segs[n].size.Load() > 0 {
			ts, err := segs[n].largestTimestamp()
			if err != nil {
				return nil, err
			}
			if nowMs-ts < cfg.MinCompactionLagMs {
				break
			}
		}
	}
	if n == first {
		return nil, nil
	}
	cl := &cleanable{l: l, segs: segs[first:n], end: segs[n].base, truncs: l.truncations.Load()}
	c.mu.Lock()
	fd, ok := c.mu.firstDirty[l.tp]
	horizon, hasHorizon := c.mu.horizon[l.tp]
	known := c.mu.horizonKnown[l.tp]
	c.mu.Unlock()
	if !ok || fd < start || fd > l.leo.Load() {
		fd = start // unknown or stale (truncated, deleted records): clean it all
	}
	cl.firstDirty = fd
	if !known {
		h, err := earliestHorizon(cl.segs, fd)
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		c.mu.horizonKnown[l.tp] = true
		if h > 0 {
			c.mu.horizon[l.tp] = h
		}
		c.mu.Unlock()
		horizon, hasHorizon = h, h > 0
	}
	var firstDirtySeg *segment
	for _, s := range cl.segs {
		size := s.size.Load()
		if s.limit.Load() <= fd {
			cl.cleanBytes += size
			continue
		}
		if firstDirtySeg == nil {
			firstDirtySeg = s
		}
		cl.dirtyBytes += size
	}
	if total := cl.cleanBytes + cl.dirtyBytes; total > 0 {
		cl.ratio = float64(cl.dirtyBytes) / float64(total)
	}
	if hasHorizon && nowMs >= horizon {
		cl.forced = true
	}
	if firstDirtySeg != nil && cfg.MaxCompactionLagMs < 1<<62 {
		ts, err := firstBatchTimestamp(firstDirtySeg)
		if err != nil {
			return nil, err
		}
		if ts >= 0 && nowMs-ts > cfg.MaxCompactionLagMs {
			cl.forced = true
		}
	}
	return cl, nil
}

// earliestHorizon is the earliest delete horizon among the batches of
// segs below firstDirty (only a pass stamps horizons), 0 if none; it reads
// batch headers only.
func earliestHorizon(segs []*segment, firstDirty int64) (int64, error) {
	var earliest int64
	for _, s := range segs {
		if s.base >= firstDirty {
			break
		}
		f, err := s.open()
		if err != nil {
			return 0, err
		}
		sc := newHeaderScanner(f, 0, s.size.Load())
		for {
			h, _, ok, err := sc.next()
			if err != nil {
				sc.release()
				return 0, err
			}
			if !ok {
				break
			}
			if h.HasDeleteHorizon() && (earliest == 0 || h.BaseTimestamp < earliest) {
				earliest = h.BaseTimestamp
			}
		}
		sc.release()
	}
	return earliest, nil
}

// firstBatchTimestamp is the max timestamp of a segment's first batch,
// which max.compaction.lag.ms counts from (Kafka's "earliest timestamp"
// of a dirty segment); -1 if it has none.
func firstBatchTimestamp(s *segment) (int64, error) {
	f, err := s.open()
	if err != nil {
		return 0, err
	}
	sc := newHeaderScanner(f, 0, s.size.Load())
	defer sc.release()
	h, _, ok, err := sc.next()
	if err != nil || !ok {
		return -1, err
	}
	return h.MaxTimestamp, nil
}

// setCleaned records how far a log is clean, and its earliest kept delete
// horizon (0 for none), and checkpoints the first.
func (c *cleaner) setCleaned(tp TopicPartition, firstDirty, horizon int64) error {
	c.mu.Lock()
	c.mu.firstDirty[tp] = firstDirty
	if horizon > 0 {
		c.mu.horizon[tp] = horizon
	} else {
		delete(c.mu.horizon, tp)
	}
	c.mu.horizonKnown[tp] = true
	c.mu.Unlock()
	return c.writeCheckpoint()
}

// forget drops a deleted partition's state.
func (c *cleaner) forget(tp TopicPartition) error {
	c.mu.Lock()
	_, had := c.mu.firstDirty[tp]
	delete(c.mu.firstDirty, tp)
	delete(c.mu.horizon, tp)
	delete(c.mu.horizonKnown, tp)
	delete(c.mu.uncleanable, tp)
	c.mu.Unlock()
	if !had {
		return nil
	}
	return c.writeCheckpoint()
}

func (c *cleaner) writeCheckpoint() error {
	c.m.ckptMu.Lock()
	defer c.m.ckptMu.Unlock()
	c.mu.Lock()
	data := formatOffsetCheckpoint(c.mu.firstDirty)
	c.mu.Unlock()
	return writeFileAtomic(filepath.Join(c.m.dir, cleanerCheckpointFile), data)
}

// startCleaner runs the cleaner every backoff until the Manager stops.
func (m *Manager) startCleaner(backoff time.Duration) {
	m.loop(backoff, m.cleaner.runPasses)
}
