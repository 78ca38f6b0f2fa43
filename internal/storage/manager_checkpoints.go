package storage

import (
	"errors"
	"path/filepath"
)

// The per-directory checkpoint files the Manager keeps (Kafka's names and
// format): log start offsets, recovery points and high watermarks.

// readCheckpoint reads a per-directory checkpoint; a corrupt one is logged
// and ignored (every log it named is then recovered from scratch, or starts
// at its first segment, or gets HW 0 — all safe).
func (m *Manager) readCheckpoint(name string) (map[TopicPartition]int64, error) {
	cp, err := readOffsetCheckpoint(filepath.Join(m.dir, name))
	if errors.Is(err, ErrCorrupt) {
		m.env.logger.Warn("ignoring corrupt checkpoint file", "file", name, "err", err)
		return map[TopicPartition]int64{}, nil
	}
	return cp, err
}

// Which per-directory checkpoints writeCheckpoints writes.
const (
	ckptLogStart = 1 << iota
	ckptRecovery
	ckptHW
	ckptAll = ckptLogStart | ckptRecovery | ckptHW
)

// writeCheckpoints writes the checkpoint files named by which.
func (m *Manager) writeCheckpoints(which int) error {
	m.ckptMu.Lock()
	defer m.ckptMu.Unlock()
	m.mu.Lock()
	rec, start, hw := maps(m.mu.recovery), maps(m.mu.logStart), maps(m.mu.hw)
	for tp, l := range m.mu.logs {
		rec[tp] = l.recoveryPoint.Load()
		start[tp] = l.logStart.Load()
		hw[tp] = l.hw.Load()
	}
	m.mu.Unlock()
	for _, f := range []struct {
		bit  int
		name string
		m    map[TopicPartition]int64
	}{{ckptLogStart, logStartOffsetFile, start}, {ckptRecovery, recoveryPointFile, rec}, {ckptHW, highWatermarkFile, hw}} {
		if which&f.bit == 0 {
			continue
		}
		if err := writeFileAtomic(filepath.Join(m.dir, f.name), formatOffsetCheckpoint(f.m)); err != nil {
			return err
		}
	}
	return nil
}

func maps(m map[TopicPartition]int64) map[TopicPartition]int64 {
	c := make(map[TopicPartition]int64, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}
