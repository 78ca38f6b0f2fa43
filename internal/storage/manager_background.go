package storage

import (
	"errors"
	"sync"
	"time"
)

// The Manager's background work: retention, flushes and checkpoints on
// their intervals, and the worker pool that acts on every log at once.

// ioWorkers is how many logs are flushed (or opened) at once when the
// Manager acts on all of them. The work is fsync-bound, not CPU-bound:
// concurrent fsyncs on one filesystem share journal commits, so 10,000
// partitions shut down in a fraction of the time one-by-one would take.
const ioWorkers = 16

// forEachLog runs fn on every log with ioWorkers goroutines and returns
// fn's errors, in the order of logs.
func forEachLog(logs []*Log, fn func(*Log) error) []error {
	errs := make([]error, len(logs))
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < min(ioWorkers, len(logs)); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				errs[i] = fn(logs[i])
			}
		}()
	}
	for i := range logs {
		next <- i
	}
	close(next)
	wg.Wait()
	return errs
}

func (m *Manager) startBackground() {
	m.loop(m.opts.RetentionCheckInterval, func() {
		for _, l := range m.openLogs() {
			if _, err := l.ApplyRetention(); err != nil && !errors.Is(err, ErrClosed) {
				m.env.logger.Warn("retention", "dir", l.dir, "err", err)
			}
		}
	})
	m.loop(m.opts.ProducerIDExpirationCheckInterval, func() {
		now := m.env.now()
		for _, l := range m.openLogs() {
			l.ExpireProducers(now, m.opts.ProducerIDExpiration)
		}
	})
	m.loop(m.opts.CheckpointInterval, func() {
		if err := m.writeCheckpoints(ckptHW | ckptLogStart); err != nil {
			m.env.logger.Warn("writing checkpoints", "dir", m.dir, "err", err)
		}
	})
	m.loop(m.opts.RecoveryCheckpointInterval, func() {
		if err := m.writeCheckpoints(ckptRecovery); err != nil {
			m.env.logger.Warn("writing the recovery point checkpoint", "dir", m.dir, "err", err)
		}
	})
	m.loop(m.opts.FlushCheckInterval, func() {
		now := m.env.now()
		for _, l := range m.openLogs() {
			if l.flushDue(now) {
				m.flush(l)
			}
		}
	})
	m.loop(200*time.Millisecond, func() { m.env.reaper.run(time.Now()) })
	m.loop(m.opts.IdleFileInterval, func() { m.env.files.closeIdle() })
	if !m.opts.DisableCleaner {
		m.startCleaner(m.opts.CleanerBackoff)
	}
	// Roll flushes: move the recovery point past finished segments.
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		for {
			select {
			case <-m.stop.done:
				return
			case l := <-m.env.flushReq:
				m.flush(l)
			}
		}
	}()
}

func (m *Manager) flush(l *Log) {
	if err := l.Flush(); err != nil && !errors.Is(err, ErrClosed) {
		m.env.logger.Warn("flushing log", "dir", l.dir, "err", err)
	}
}

// loop runs fn every interval until Close.
func (m *Manager) loop(interval time.Duration, fn func()) {
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-m.stop.done:
				return
			case <-t.C:
				fn()
			}
		}
	}()
}
