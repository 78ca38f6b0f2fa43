package storage

import (
	"time"
)

// discard closes a log that is being deleted: nothing is flushed or
// snapshotted, its files are closed after delay (for reads in flight).
func (l *Log) discard(delay time.Duration) {
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed.Swap(true) {
		return
	}
	for _, s := range l.segments() {
		s.closeFile(delay)
	}
}

// close flushes the log and closes its files, after delay (for reads in
// flight when a partition is deleted) or at once.
func (l *Log) close(delay time.Duration) error {
	if l.closed.Load() {
		return nil
	}
	_, err := l.flushTo(l.leo.Load())
	l.flushMu.Lock()
	defer l.flushMu.Unlock()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed.Swap(true) {
		return err
	}
	active := l.mu.active
	ix := active.idx.Load()
	l.mu.ix.maybeTimeEntry(ix)
	if perr := active.persistIndex(ix); perr != nil && err == nil {
		err = perr
	}
	if serr := active.syncIndexFiles(); serr != nil && err == nil {
		err = serr
	}
	if leo := l.leo.Load(); l.mu.snapshotAt != leo {
		if perr := l.mu.prod.writeSnapshot(l.dir, leo); perr != nil && err == nil {
			err = perr
		} else if perr == nil {
			l.mu.snapshotAt = leo
		}
	}
	for _, s := range l.segments() {
		s.closeFile(delay)
	}
	return err
}
