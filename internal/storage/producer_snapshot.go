package storage

// Producer state snapshots: <dir>/<offset, 20 digits>.snapshot holds the
// producer state as of offset, i.e. after every batch below offset and none
// at or above it; loading one and replaying the log from offset rebuilds the
// state without reading the whole log. Like Kafka, a log writes one when a
// segment rolls and on clean shutdown, and keeps the newest two.
//
// File layout (big-endian), versioned and checksummed like Kafka's own
// snapshot files but not byte-compatible with them:
//
//	version        uint16   1
//	crc            uint32   CRC-32C (Castagnoli) of every byte after this field
//	offset         int64    must match the file name
//	count          uint32   entries
//	count entries, by ascending producer id:
//	  producerID    int64    >= 0, no repeats
//	  epoch         int16
//	  lastTimestamp int64    ms
//	  nBatches      uint8    0..5
//	  nBatches batches, oldest first, each:
//	    firstSeq, lastSeq         int32
//	    firstOffset, lastOffset   int64    ascending, below the snapshot offset
//	    timestamp                 int64    ms
//
// A file that fails any check is corrupt: the loader skips and removes it,
// and falls back to an older snapshot or to replaying the whole log.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

const (
	producerSnapshotVersion = 1
	producerSnapshotSuffix  = ".snapshot"
	// producerSnapshotsKept is how many snapshots WriteSnapshot leaves.
	producerSnapshotsKept = 2

	snapshotHeaderSize = 2 + 4 + 8 + 4
	snapshotCRCStart   = 6 // the CRC covers the file from here
	snapshotEntrySize  = 8 + 2 + 8 + 1
	snapshotBatchSize  = 4 + 4 + 8 + 8 + 8
)

var producerSnapshotCRC = crc32.MakeTable(crc32.Castagnoli)

func producerSnapshotPath(dir string, offset int64) string {
	return filepath.Join(dir, fmt.Sprintf("%020d%s", offset, producerSnapshotSuffix))
}

// encodeSnapshot serializes s as of offset; entries go by ascending producer
// id so that equal states give equal files. A state holding a batch at or
// past offset is not "as of offset": that is the caller's bug, refused here
// rather than written as a file the loader would throw away.
func (s *ProducerStates) encodeSnapshot(offset int64) ([]byte, error) {
	pids := make([]int64, 0, len(s.producers))
	size := snapshotHeaderSize
	for pid, e := range s.producers {
		if lb := e.last(); lb != nil && lb.lastOffset >= offset {
			return nil, fmt.Errorf("storage: producer %d has a batch at offset %d, past snapshot offset %d", pid, lb.lastOffset, offset)
		}
		pids = append(pids, pid)
		size += snapshotEntrySize + e.n*snapshotBatchSize
	}
	slices.Sort(pids)
	b := make([]byte, snapshotCRCStart, size)
	binary.BigEndian.PutUint16(b, producerSnapshotVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(offset))
	b = binary.BigEndian.AppendUint32(b, uint32(len(pids)))
	for _, pid := range pids {
		e := s.producers[pid]
		b = binary.BigEndian.AppendUint64(b, uint64(pid))
		b = binary.BigEndian.AppendUint16(b, uint16(e.epoch))
		b = binary.BigEndian.AppendUint64(b, uint64(e.lastTimestamp))
		b = append(b, byte(e.n))
		for _, pb := range e.batches[:e.n] {
			b = binary.BigEndian.AppendUint32(b, uint32(pb.firstSeq))
			b = binary.BigEndian.AppendUint32(b, uint32(pb.lastSeq))
			b = binary.BigEndian.AppendUint64(b, uint64(pb.firstOffset))
			b = binary.BigEndian.AppendUint64(b, uint64(pb.lastOffset))
			b = binary.BigEndian.AppendUint64(b, uint64(pb.timestamp))
		}
	}
	binary.BigEndian.PutUint32(b[2:], crc32.Checksum(b[snapshotCRCStart:], producerSnapshotCRC))
	return b, nil
}

// decodeSnapshot parses a snapshot file's bytes, checking everything the
// layout promises. Errors wrap ErrCorrupt.
func decodeSnapshot(b []byte) (s *ProducerStates, offset int64, err error) {
	corrupt := func(format string, args ...any) error {
		return fmt.Errorf("%w: producer snapshot: %s", ErrCorrupt, fmt.Sprintf(format, args...))
	}
	if len(b) < snapshotHeaderSize {
		return nil, 0, corrupt("%d bytes is shorter than the header", len(b))
	}
	if v := binary.BigEndian.Uint16(b); v != producerSnapshotVersion {
		return nil, 0, corrupt("unknown version %d", v)
	}
	if want, got := binary.BigEndian.Uint32(b[2:]), crc32.Checksum(b[snapshotCRCStart:], producerSnapshotCRC); want != got {
		return nil, 0, corrupt("CRC %#x, computed %#x", want, got)
	}
	offset = int64(binary.BigEndian.Uint64(b[6:]))
	count := binary.BigEndian.Uint32(b[14:])
	if offset < 0 {
		return nil, 0, corrupt("negative offset %d", offset)
	}
	rest := b[snapshotHeaderSize:]
	// Every entry takes at least snapshotEntrySize bytes: a count beyond
	// what the file can hold is refused before the map is sized by it.
	if uint64(count) > uint64(len(rest)/snapshotEntrySize) {
		return nil, 0, corrupt("%d entries in %d bytes", count, len(rest))
	}
	s = &ProducerStates{producers: make(map[int64]*producerEntry, count)}
	prevPID := int64(-1)
	for i := range count {
		if len(rest) < snapshotEntrySize {
			return nil, 0, corrupt("entry %d truncated", i)
		}
		pid := int64(binary.BigEndian.Uint64(rest))
		e := &producerEntry{
			epoch:         int16(binary.BigEndian.Uint16(rest[8:])),
			lastTimestamp: int64(binary.BigEndian.Uint64(rest[10:])),
			n:             int(rest[18]),
		}
		rest = rest[snapshotEntrySize:]
		if pid <= prevPID {
			return nil, 0, corrupt("entry %d: producer id %d after %d", i, pid, prevPID)
		}
		prevPID = pid
		if e.n > producerBatchesRetained || len(rest) < e.n*snapshotBatchSize {
			return nil, 0, corrupt("entry %d: %d batches in %d bytes", i, e.n, len(rest))
		}
		prevLast := int64(-1)
		for j := range e.n {
			pb := producerBatch{
				firstSeq:    int32(binary.BigEndian.Uint32(rest)),
				lastSeq:     int32(binary.BigEndian.Uint32(rest[4:])),
				firstOffset: int64(binary.BigEndian.Uint64(rest[8:])),
				lastOffset:  int64(binary.BigEndian.Uint64(rest[16:])),
				timestamp:   int64(binary.BigEndian.Uint64(rest[24:])),
			}
			rest = rest[snapshotBatchSize:]
			if pb.firstSeq < 0 || pb.lastSeq < 0 || pb.firstOffset <= prevLast ||
				pb.lastOffset < pb.firstOffset || pb.lastOffset >= offset {
				return nil, 0, corrupt("entry %d batch %d: impossible %+v", i, j, pb)
			}
			prevLast = pb.lastOffset
			e.batches[j] = pb
		}
		s.producers[pid] = e
	}
	if len(rest) != 0 {
		return nil, 0, corrupt("%d bytes after the entries", len(rest))
	}
	return s, offset, nil
}

// WriteSnapshot writes the state as of offset (every batch below offset
// recorded, none above) to dir/%020d.snapshot atomically: a temporary file,
// fsynced, renamed into place, and the directory fsynced. It then keeps
// only the newest 2 snapshots.
//
// NB: snapshots above offset are deleted too. They can only be left from
// before a truncation, describe records the log no longer has, and would be
// loaded wrongly once the log grew past them again.
func (s *ProducerStates) WriteSnapshot(dir string, offset int64) error {
	data, err := s.encodeSnapshot(offset)
	if err != nil {
		return err
	}
	if err := writeFileAtomic(producerSnapshotPath(dir, offset), data); err != nil {
		return fmt.Errorf("storage: write producer snapshot: %w", err)
	}
	offsets, err := listProducerSnapshots(dir)
	if err != nil {
		return err
	}
	kept, removed := 0, false
	for _, o := range slices.Backward(offsets) {
		if o <= offset && kept < producerSnapshotsKept {
			kept++
			continue
		}
		if err := os.Remove(producerSnapshotPath(dir, o)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("storage: prune producer snapshots: %w", err)
		}
		removed = true
	}
	if !removed {
		return nil // writeFileAtomic fsynced the directory already
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("storage: sync %s: %w", dir, err)
	}
	return nil
}

// listProducerSnapshots returns the offsets of dir's snapshot files,
// ascending. Other files (segments, indexes, temporary snapshots) are
// ignored; a missing dir has none.
func listProducerSnapshots(dir string) ([]int64, error) {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("storage: list producer snapshots: %w", err)
	}
	var offsets []int64
	for _, ent := range ents {
		name := ent.Name()
		digits, ok := strings.CutSuffix(name, producerSnapshotSuffix)
		if !ok || len(digits) != 20 || ent.IsDir() {
			continue
		}
		o, err := strconv.ParseInt(digits, 10, 64)
		if err != nil || o < 0 {
			continue
		}
		offsets = append(offsets, o)
	}
	slices.Sort(offsets)
	return offsets, nil
}

// LoadProducerSnapshot loads the newest valid snapshot in dir whose offset
// is <= maxOffset; the caller then replays the log from snapOffset. With
// none, it returns an empty state and snapOffset 0 (replay the whole log).
// Corrupt snapshots are skipped and removed, as are leftover temporary
// files of an interrupted WriteSnapshot. Only I/O errors are returned.
func LoadProducerSnapshot(dir string, maxOffset int64) (s *ProducerStates, snapOffset int64, err error) {
	if tmps, _ := filepath.Glob(filepath.Join(dir, "*"+producerSnapshotSuffix+checkpointTmpSuffix)); len(tmps) > 0 {
		for _, t := range tmps {
			os.Remove(t)
		}
	}
	offsets, err := listProducerSnapshots(dir)
	if err != nil {
		return nil, 0, err
	}
	for _, o := range slices.Backward(offsets) {
		if o > maxOffset {
			continue
		}
		path := producerSnapshotPath(dir, o)
		b, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, 0, fmt.Errorf("storage: read producer snapshot: %w", err)
		}
		s, off, err := decodeSnapshot(b)
		if err == nil && off != o {
			err = fmt.Errorf("%w: producer snapshot: %s holds offset %d", ErrCorrupt, filepath.Base(path), off)
		}
		if err != nil {
			// TODO: log it once the log has a logger to hand us.
			if rerr := os.Remove(path); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
				return nil, 0, fmt.Errorf("storage: remove corrupt producer snapshot: %w", rerr)
			}
			continue
		}
		return s, o, nil
	}
	return NewProducerStates(), 0, nil
}

// DeleteProducerSnapshotsAbove removes the snapshots of offsets > offset:
// after the log is truncated to offset they describe records that are gone.
// The removal is fsynced, so a crash cannot bring them back.
func DeleteProducerSnapshotsAbove(dir string, offset int64) error {
	offsets, err := listProducerSnapshots(dir)
	if err != nil {
		return err
	}
	removed := false
	for _, o := range offsets {
		if o <= offset {
			continue
		}
		if err := os.Remove(producerSnapshotPath(dir, o)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("storage: delete producer snapshot: %w", err)
		}
		removed = true
	}
	if !removed {
		return nil
	}
	if err := syncDir(dir); err != nil {
		return fmt.Errorf("storage: sync %s: %w", dir, err)
	}
	return nil
}
