package storage

// Swapping a cleaned segment in for the segments it replaces, so that a
// crash (kill -9) at any point leaves either the old segments or the new
// one, never a mix that loses records. Kafka's file suffixes and order:
//
//  1. The cleaner writes "<base>.log.cleaned" and its index files and
//     fsyncs them. A crash now leaves .cleaned files, which recovery
//     deletes: the old segments are intact.
//  2. It renames the .cleaned files to .swap, the .log last. A
//     "<base>.log.swap" is the commit point: from then on recovery
//     completes the swap rather than undo it.
//  3. It renames the old segments' .log files to .deleted (removing their
//     indexes), then the .swap files to their final names, the .log last.
//
// Recovery (recoverCleanerFiles, before segments are listed) deletes
// .cleaned files and .swap index files without a .log.swap; for each
// "<base>.log.swap" it deletes every segment whose base offset is in
// [base, next), next being the offset after the swap segment's last batch,
// and renames the .swap files into place, so that no two segments overlap.
// Old segments of the group at or above next may stay (when their records
// all went): they hold only records newer than any in the cleaned segment,
// so every key still reads as before the pass (an older value can never
// come back from them over a removed tombstone); the next pass cleans them.

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// swapIn replaces group (whose .log sizes were sizes when cleaning began,
// when the log had been truncated truncs times) with the cleaned segment of
// size bytes written for it, whose indexes are ix.
//
// NB: readers take no lock, so the order in memory matters as much as on
// disk: the new segment list is published (the new segment reading its
// .swap file, with its indexes in memory) before the old segments are
// marked deleted. A reader that loaded the old list may then meet a deleted
// segment, and starts over with the new list (Log.replacedUnder); no
// reader ever finds a deleted segment in the current list.
func (c *cleaner) swapIn(l *Log, group []*segment, sizes []int64, size, truncs int64, ix *segIndex) error {
	base, dir := group[0].base, l.dir
	l.mu.Lock()
	defer l.mu.Unlock()
	cur := l.segments()
	i := segmentFor(cur, base)
	still := !l.closed.Load() && l.truncations.Load() == truncs &&
		i >= 0 && i+len(group) < len(cur) // the active segment is never in a group
	for j := 0; still && j < len(group); j++ {
		s := cur[i+j]
		still = s == group[j] && s.size.Load() == sizes[j] && !s.deleted.Load()
	}
	if !still {
		removeCleaned(dir, base)
		return errCleanAborted
	}

	// 1. .cleaned → .swap, the .log last: the commit point.
	for _, suffix := range []string{indexSuffix, timeIndexSuffix, logSuffix} {
		err := os.Rename(segmentPath(dir, base, suffix+cleanedSuffix), segmentPath(dir, base, suffix+swapSuffix))
		if err != nil && !(suffix != logSuffix && errors.Is(err, fs.ErrNotExist)) {
			for _, suffix := range []string{indexSuffix, timeIndexSuffix} {
				os.Remove(segmentPath(dir, base, suffix+swapSuffix))
			}
			removeCleaned(dir, base)
			return fmt.Errorf("storage: swapping in cleaned segment %d of %s: %w", base, dir, err)
		}
	}
	if err := syncDir(dir); err != nil {
		c.env.logger.Warn("log cleaner: fsync of directory", "dir", dir, "err", err)
	}
	c.step("swap-renamed", l)

	// 2. Readers move to the new segment, which reads the .swap file.
	swapPath := segmentPath(dir, base, logSuffix+swapSuffix)
	ns := newSegment(l, base)
	ns.file = newSegFile(swapPath)
	ns.size.Store(size)
	ns.limit.Store(group[len(group)-1].limit.Load())
	ns.idx.Store(ix)
	c.env.indexes.add(ns, ix)
	next := make([]*segment, 0, len(cur)-len(group)+1)
	next = append(next, cur[:i]...)
	next = append(next, ns)
	next = append(next, cur[i+len(group):]...)
	l.setSegmentsLocked(next)

	// 3. The old segments go (reads in flight keep their open files for
	// file.delete.delay.ms).
	delay := time.Duration(l.config().FileDeleteDelayMs) * time.Millisecond
	for _, s := range group {
		s.markDeleted(delay)
		c.step("old-deleted", l)
	}

	// 4. The .swap files take the final names, the .log last.
	for _, suffix := range []string{indexSuffix, timeIndexSuffix, logSuffix} {
		from, to := segmentPath(dir, base, suffix+swapSuffix), segmentPath(dir, base, suffix)
		ns.file.mu.Lock() // NB: the path changes with the name, atomically for openers
		err := os.Rename(from, to)
		if err == nil && suffix == logSuffix {
			ns.file.mu.path = to
		}
		ns.file.mu.Unlock()
		if err != nil && !(suffix != logSuffix && errors.Is(err, fs.ErrNotExist)) {
			// Past the commit point there is no going back: the segment
			// keeps reading the .swap file, and the next start completes
			// the swap.
			c.env.logger.Error("log cleaner: renaming swapped segment; the next start completes it", "file", from, "err", err)
		}
	}
	if err := syncDir(dir); err != nil {
		c.env.logger.Warn("log cleaner: fsync of directory", "dir", dir, "err", err)
	}
	c.step("swap-done", l)
	return nil
}

// recoverCleanerFiles undoes or completes a swap that a crash interrupted
// (see the file comment), and says so in the log. It runs before the
// segments are listed.
func recoverCleanerFiles(dir string, logger interface{ Info(string, ...any) }) error {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	var swaps []int64
	logs := map[int64]bool{}
	for _, e := range entries {
		name := e.Name()
		switch {
		case e.IsDir():
		case strings.HasSuffix(name, cleanedSuffix):
			if err := os.Remove(filepath.Join(dir, name)); err != nil {
				return err
			}
			logger.Info("removed the file of an interrupted cleaning pass", "file", filepath.Join(dir, name))
		case strings.HasSuffix(name, logSuffix+swapSuffix):
			if base, ok := parseSegmentName(strings.TrimSuffix(name, swapSuffix), logSuffix); ok {
				swaps = append(swaps, base)
			}
		case strings.HasSuffix(name, logSuffix):
			if base, ok := parseSegmentName(name, logSuffix); ok {
				logs[base] = true
			}
		}
	}
	for _, base := range swaps {
		path := segmentPath(dir, base, logSuffix+swapSuffix)
		next, err := nextOffsetOf(path, base)
		if err != nil {
			return err
		}
		for b := range logs {
			if b < base || b >= next {
				continue
			}
			for _, suffix := range []string{logSuffix, indexSuffix, timeIndexSuffix} {
				if err := os.Remove(segmentPath(dir, b, suffix)); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return err
				}
			}
		}
		for _, suffix := range []string{indexSuffix, timeIndexSuffix, logSuffix} {
			err := os.Rename(segmentPath(dir, base, suffix+swapSuffix), segmentPath(dir, base, suffix))
			if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return err
			}
		}
		logger.Info("completed the swap of a cleaned segment that a crash interrupted", "segment", segmentPath(dir, base, logSuffix), "next_offset", next)
	}
	// Index .swap files whose .log never became a .swap: the old segment
	// still stands with its own indexes.
	for _, suffix := range []string{indexSuffix, timeIndexSuffix} {
		stray, _ := filepath.Glob(filepath.Join(dir, "*"+suffix+swapSuffix))
		for _, p := range stray {
			if err := os.Remove(p); err != nil {
				return err
			}
		}
	}
	if len(swaps) > 0 {
		return syncDir(dir)
	}
	return nil
}

// nextOffsetOf is the offset after the last whole batch of the segment
// file at path (base if it has none).
func nextOffsetOf(path string, base int64) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	next := base
	sc := newHeaderScanner(f, 0, st.Size())
	defer sc.release()
	for {
		h, _, ok, err := sc.next()
		if err != nil || !ok {
			// NB: a .swap was fsynced before it got its name; a bad tail
			// here is cut by the recovery scan after the rename.
			return next, nil
		}
		next = h.LastOffset() + 1
	}
}
