package storage

// The leader epoch cache maps each leader epoch to the first offset written
// in it, persisted per partition in leader-epoch-checkpoint (Kafka's format:
// "0", count, then "epoch startOffset" lines). Followers use it through
// OffsetForLeaderEpoch to find where their log diverges from the leader's.

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
)

// Kafka's "unknown" answers to OffsetForLeaderEpoch.
const (
	undefinedEpoch       = -1
	undefinedEpochOffset = -1
)

type epochEntry struct {
	epoch int32
	start int64 // first offset written in epoch
}

// epochCache is owned by the Log's mutex. Invariant: entries are strictly
// increasing in both epoch and start offset.
type epochCache struct {
	path    string
	entries []epochEntry
	// dirty says the file was rewritten but not fsynced since: the next
	// flush of the log fsyncs it before moving the recovery point (as Kafka
	// does since KAFKA-15046), so creating or re-electing thousands of
	// partitions costs no fsync each. Until then a process crash loses
	// nothing (the page cache survives it); after a power failure the open
	// path's truncations and the leader's re-assignment repair the cache.
	dirty bool
}

func parseEpochCheckpoint(data []byte) ([]epochEntry, error) {
	var out []epochEntry
	err := parseCheckpoint(data, 2, func(f []string) error {
		e, err := strconv.ParseInt(f[0], 10, 32)
		if err != nil || e < 0 {
			return fmt.Errorf("epoch %q", f[0])
		}
		off, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil || off < 0 {
			return fmt.Errorf("offset %q", f[1])
		}
		if n := len(out); n > 0 && (int32(e) <= out[n-1].epoch || off < out[n-1].start) {
			return fmt.Errorf("entry %d %d not after %d %d", e, off, out[n-1].epoch, out[n-1].start)
		}
		out = append(out, epochEntry{epoch: int32(e), start: off})
		return nil
	})
	return out, err
}

// loadEpochCache reads dir's leader-epoch-checkpoint. A missing file is an
// empty cache; a corrupt one is reported with ErrCorrupt (and an empty
// cache), and the caller decides whether to carry on.
func loadEpochCache(dir string) (*epochCache, error) {
	c := &epochCache{path: filepath.Join(dir, leaderEpochFile)}
	data, err := os.ReadFile(c.path)
	if errors.Is(err, fs.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, err
	}
	entries, err := parseEpochCheckpoint(data)
	if err != nil {
		return c, fmt.Errorf("%s: %w", c.path, err)
	}
	c.entries = entries
	return c, nil
}

func (c *epochCache) persist() error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%d\n%d\n", checkpointVersion, len(c.entries))
	for _, e := range c.entries {
		fmt.Fprintf(&b, "%d %d\n", e.epoch, e.start)
	}
	if err := writeFileReplace(c.path, b.Bytes()); err != nil {
		return err
	}
	c.dirty = true
	return nil
}

func (c *epochCache) latest() int32 {
	if len(c.entries) == 0 {
		return undefinedEpoch
	}
	return c.entries[len(c.entries)-1].epoch
}

// assign records that epoch starts at start. An epoch not newer than the
// latest is ignored. Entries at or after start are dropped first (they can
// only exist after an unclean history), keeping the invariant.
func (c *epochCache) assign(epoch int32, start int64) bool {
	if epoch < 0 || start < 0 || epoch <= c.latest() {
		return false
	}
	n := len(c.entries)
	for n > 0 && c.entries[n-1].start >= start {
		n--
	}
	c.entries = append(c.entries[:n], epochEntry{epoch: epoch, start: start})
	return true
}

// endOffsetFor answers OffsetForLeaderEpoch as Kafka's
// LeaderEpochFileCache.endOffsetFor does:
//   - the latest epoch ends at the log end offset;
//   - an older known epoch ends where the next higher epoch starts;
//   - an epoch older than every entry gets the first entry's start offset
//     (the data before it is gone anyway);
//   - an unknown newer epoch, or an empty cache, is (-1, -1).
func (c *epochCache) endOffsetFor(epoch int32, leo int64) (int32, int64) {
	if epoch == undefinedEpoch || len(c.entries) == 0 {
		return undefinedEpoch, undefinedEpochOffset
	}
	if epoch == c.latest() {
		return epoch, leo
	}
	// First entry with a higher epoch.
	hi := 0
	for hi < len(c.entries) && c.entries[hi].epoch <= epoch {
		hi++
	}
	if hi == len(c.entries) {
		return undefinedEpoch, undefinedEpochOffset
	}
	if hi == 0 {
		return epoch, c.entries[0].start
	}
	return c.entries[hi-1].epoch, c.entries[hi].start
}

// truncateFromEnd drops epochs starting at or after end (the new log end).
func (c *epochCache) truncateFromEnd(end int64) bool {
	n := len(c.entries)
	for n > 0 && c.entries[n-1].start >= end {
		n--
	}
	changed := n != len(c.entries)
	c.entries = c.entries[:n]
	return changed
}

// truncateFromStart drops epochs that ended before start (the new log start
// offset); the epoch that covers start is kept with its start moved up.
func (c *epochCache) truncateFromStart(start int64) bool {
	i := 0
	for i+1 < len(c.entries) && c.entries[i+1].start <= start {
		i++
	}
	changed := i > 0
	c.entries = c.entries[i:]
	if len(c.entries) > 0 && c.entries[0].start < start {
		c.entries[0].start = start
		changed = true
	}
	return changed
}
