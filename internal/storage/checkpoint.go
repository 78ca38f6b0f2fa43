package storage

// Checkpoint files in Kafka's text format:
//
//	0                  version
//	2                  number of entries
//	orders 0 1234      one entry per line (fields separated by a space)
//	orders 1 99
//
// The per-directory files (recovery-point-offset-checkpoint,
// log-start-offset-checkpoint, replication-offset-checkpoint) have entries
// "topic partition offset"; leader-epoch-checkpoint has "epoch startOffset".
// Files are replaced atomically: a temporary file is written and fsynced,
// renamed over the old one, and the directory fsynced.

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Names of the per-data-directory checkpoint files and marker, as in Kafka.
const (
	recoveryPointFile   = "recovery-point-offset-checkpoint"
	logStartOffsetFile  = "log-start-offset-checkpoint"
	highWatermarkFile   = "replication-offset-checkpoint"
	cleanShutdownFile   = ".kafka_cleanshutdown"
	leaderEpochFile     = "leader-epoch-checkpoint"
	checkpointVersion   = 0
	maxCheckpointBytes  = 64 << 20 // refuse to parse absurd files
	checkpointTmpSuffix = ".tmp"
)

// parseCheckpoint parses a checkpoint file's bytes, calling fn with the
// fields of every entry line. Any deviation from the format (wrong version,
// count mismatch, wrong field count) is ErrCorrupt.
func parseCheckpoint(data []byte, fieldsPerLine int, fn func(fields []string) error) error {
	if len(data) > maxCheckpointBytes {
		return fmt.Errorf("%w: checkpoint of %d bytes", ErrCorrupt, len(data))
	}
	lines := strings.Split(string(data), "\n")
	// A trailing newline leaves one empty last element.
	if n := len(lines); n > 0 && lines[n-1] == "" {
		lines = lines[:n-1]
	}
	if len(lines) < 2 {
		return fmt.Errorf("%w: checkpoint missing version or count", ErrCorrupt)
	}
	v, err := strconv.Atoi(strings.TrimSpace(lines[0]))
	if err != nil || v != checkpointVersion {
		return fmt.Errorf("%w: checkpoint version %q", ErrCorrupt, lines[0])
	}
	count, err := strconv.Atoi(strings.TrimSpace(lines[1]))
	if err != nil || count < 0 || count != len(lines)-2 {
		return fmt.Errorf("%w: checkpoint count %q for %d entries", ErrCorrupt, lines[1], len(lines)-2)
	}
	for i, line := range lines[2:] {
		fields := strings.Fields(line)
		if len(fields) != fieldsPerLine {
			return fmt.Errorf("%w: checkpoint line %d: %q", ErrCorrupt, i+3, line)
		}
		if err := fn(fields); err != nil {
			return fmt.Errorf("%w: checkpoint line %d: %v", ErrCorrupt, i+3, err)
		}
	}
	return nil
}

// parseOffsetCheckpoint parses a per-directory checkpoint.
func parseOffsetCheckpoint(data []byte) (map[TopicPartition]int64, error) {
	m := make(map[TopicPartition]int64)
	err := parseCheckpoint(data, 3, func(f []string) error {
		p, err := strconv.ParseInt(f[1], 10, 32)
		if err != nil || p < 0 {
			return fmt.Errorf("partition %q", f[1])
		}
		off, err := strconv.ParseInt(f[2], 10, 64)
		if err != nil || off < 0 {
			return fmt.Errorf("offset %q", f[2])
		}
		m[TopicPartition{Topic: f[0], Partition: int32(p)}] = off
		return nil
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// readOffsetCheckpoint reads a per-directory checkpoint; a missing file is
// an empty one.
func readOffsetCheckpoint(path string) (map[TopicPartition]int64, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[TopicPartition]int64{}, nil
	}
	if err != nil {
		return nil, err
	}
	m, err := parseOffsetCheckpoint(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// formatOffsetCheckpoint renders entries sorted by topic and partition, so
// the files are stable and diffable.
func formatOffsetCheckpoint(m map[TopicPartition]int64) []byte {
	tps := make([]TopicPartition, 0, len(m))
	for tp := range m {
		tps = append(tps, tp)
	}
	sort.Slice(tps, func(i, j int) bool {
		if tps[i].Topic != tps[j].Topic {
			return tps[i].Topic < tps[j].Topic
		}
		return tps[i].Partition < tps[j].Partition
	})
	var b bytes.Buffer
	fmt.Fprintf(&b, "%d\n%d\n", checkpointVersion, len(tps))
	for _, tp := range tps {
		fmt.Fprintf(&b, "%s %d %d\n", tp.Topic, tp.Partition, m[tp])
	}
	return b.Bytes()
}

// writeFileAtomic replaces path with data so that a crash leaves either the
// old or the new contents, never a mix: write a temporary file, fsync it,
// rename it over path, fsync the directory.
func writeFileAtomic(path string, data []byte) error {
	tmp := path + checkpointTmpSuffix
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(tmp)
		return err
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(filepath.Dir(path))
}

// writeFileReplace replaces path with data atomically for readers and a
// process crash (temporary file renamed over path) but fsyncs nothing: the
// caller makes it durable later with syncPath and syncDir.
func writeFileReplace(path string, data []byte) error {
	tmp := path + checkpointTmpSuffix
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		os.Remove(tmp)
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}

// syncPath fsyncs the file at path.
func syncPath(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	err = f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// syncDir fsyncs a directory so that entries created, renamed or removed in
// it survive a power failure.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
