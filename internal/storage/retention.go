package storage

// Retention deletes whole segments from the head of a log: those entirely
// below the log start offset (DeleteRecords), older than retention.ms by
// their largest timestamp, or beyond retention.bytes. When every segment
// qualifies, the active one included, it is rolled first and then deleted,
// as Kafka does, so a topic that stops receiving writes still empties
// after retention.ms. It never deletes a segment holding offsets at or
// above the high watermark (consumers may not have read them yet).

import (
	"time"
)

// ApplyRetention deletes the segments that retention.ms, retention.bytes
// and the log start offset allow, as of the Manager's clock, and returns how
// many it deleted. The Manager calls it every RetentionCheckInterval.
func (l *Log) ApplyRetention() (int, error) {
	if l.closed.Load() {
		return 0, ErrClosed
	}
	return l.deleteSegments(true)
}

// deleteSegments deletes deletable head segments; withLimits adds
// retention.ms and retention.bytes to the log start offset rule (only for
// logs whose cleanup.policy has delete: a compact-only log keeps every
// segment, and the cleaner bounds it).
func (l *Log) deleteSegments(withLimits bool) (int, error) {
	cfg := l.config()
	withLimits = withLimits && cfg.delete
	nowMs := l.env.now().UnixMilli()
	segs := l.segments()
	hw, start := l.hw.Load(), l.logStart.Load()
	total := l.Size()
	n := 0
	// The predicates are evaluated without the lock (they may read time
	// indexes from disk); the list is checked again under it.
	for ; n+1 < len(segs); n++ {
		s, next := segs[n], segs[n+1]
		if next.base > hw {
			break
		}
		size := s.size.Load()
		del := next.base <= start
		if !del && withLimits && cfg.RetentionMs >= 0 {
			ts, err := s.largestTimestamp()
			if err != nil {
				return 0, err
			}
			del = nowMs-ts > cfg.RetentionMs
		}
		if !del && withLimits && cfg.RetentionBytes >= 0 {
			del = total-size >= cfg.RetentionBytes
		}
		if !del {
			break
		}
		total -= size
	}
	if n == len(segs)-1 && l.activeExpired(segs[n], cfg, withLimits, nowMs, total, hw, start) {
		// Roll, and the next pass sees the old active segment as closed.
		if rolled, err := l.rollExpiredActive(segs[n]); err != nil || rolled {
			if err != nil {
				return 0, err
			}
			return l.deleteSegments(withLimits)
		}
	}
	if n == 0 {
		return 0, nil
	}
	doomed := segs[:n]

	l.mu.Lock()
	cur := l.segments()
	if l.closed.Load() || len(cur) <= n || cur[n-1] != doomed[n-1] || cur[0] != doomed[0] {
		l.mu.Unlock()
		return 0, nil // changed meanwhile (truncation): next round
	}
	rest := make([]*segment, len(cur)-n)
	copy(rest, cur[n:])
	l.setSegmentsLocked(rest)
	moved := false
	if newStart := rest[0].base; newStart > l.logStart.Load() {
		l.logStart.Store(newStart)
		moved = true
		if l.mu.epochs.truncateFromStart(newStart) {
			if err := l.mu.epochs.persist(); err != nil {
				l.env.logger.Warn("writing leader epoch checkpoint", "dir", l.dir, "err", err)
			}
		}
	}
	if l.hw.Load() < l.logStart.Load() {
		l.hw.Store(l.logStart.Load())
	}
	l.mu.Unlock()

	delay := time.Duration(cfg.FileDeleteDelayMs) * time.Millisecond
	for _, s := range doomed {
		l.env.logger.Info("deleting segment", "segment", s.path(logSuffix))
		s.markDeleted(delay)
	}
	if moved {
		if err := l.env.checkpointLogStart(); err != nil {
			return n, err
		}
	}
	return n, nil
}

// activeExpired reports whether the active segment a, all of whose older
// segments are deletable, should go too: it has data, all of it below the
// high watermark, and the log start offset, retention.ms or
// retention.bytes condemns it.
func (l *Log) activeExpired(a *segment, cfg *Config, withLimits bool, nowMs, total, hw, start int64) bool {
	size := a.size.Load()
	leo := l.leo.Load()
	if size == 0 || leo > hw {
		return false
	}
	if leo <= start {
		return true
	}
	if !withLimits {
		return false
	}
	if cfg.RetentionBytes >= 0 && total-size >= cfg.RetentionBytes {
		return true
	}
	if cfg.RetentionMs < 0 {
		return false
	}
	l.mu.Lock()
	ts := l.mu.ix.maxTs
	l.mu.Unlock()
	if ts < 0 {
		ts = a.created.UnixMilli()
	}
	return nowMs-ts > cfg.RetentionMs
}

// rollExpiredActive rolls the log if a is still its active segment; it
// reports whether it rolled. A batch appended since a was judged is safe:
// the next pass judges the rolled segment by its largest timestamp again.
func (l *Log) rollExpiredActive(a *segment) (bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed.Load() || l.mu.active != a || a.size.Load() == 0 {
		return false, nil
	}
	return true, l.rollLocked(l.leo.Load())
}
