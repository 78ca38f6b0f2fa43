package storage

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/strata-io/strata/internal/record"
)

// TestCleanerCrashAtEveryStep copies the data directory at every step of
// two cleaning passes (the second removing expired tombstones), exactly as
// a kill -9 at that moment would leave it, and recovers each copy: no
// .cleaned or .swap file survives recovery, every record read back is one
// the log held before the pass, and every key reads as it did before the
// pass (its last record, or gone if that was a tombstone) — never an older
// value brought back by a half-done swap.
func TestCleanerCrashAtEveryStep(t *testing.T) {
	clock := &testClock{now: timeAt(50_000_000)}
	dir := t.TempDir()
	m := openCleanerManager(t, dir, clock)
	defer m.Close()
	cfg := compactConfig(800)
	cfg.FileDeleteDelayMs = 3_600_000 // the copies must see .deleted files, not race their removal
	cfg.DeleteRetentionMs = 1000
	l, _ := m.Open(tp0, cfg)
	n := 0
	add := func(batches int) {
		for i := 0; i < batches; i++ {
			key := fmt.Sprintf("k%d", n%7)
			r := kv{key: key, value: fmt.Sprint(n)}
			if n%11 == 5 {
				r.tomb = true
			}
			codec := []int{record.CodecNone, record.CodecZstd, record.CodecGzip}[n%3]
			recs := []kv{r, {key: fmt.Sprint("u", n%23), value: "x"}}
			if n%4 == 0 {
				recs = append(recs, kv{key: fmt.Sprint("only", n), value: "y"}) // survives every pass
			}
			mustAppend(t, l, keyedBatch(codec, int64(1000+n), recs...))
			n++
		}
		rollAndCommit(t, l)
	}

	type snap struct {
		step string
		dir  string
	}
	var snaps []snap
	m.cleaner.hook = func(step string, _ *Log) {
		to := filepath.Join(t.TempDir(), "data")
		copyLive(t, dir, to)
		snaps = append(snaps, snap{step, to})
	}
	check := func(pass string, before []storedRecord) {
		t.Helper()
		steps := map[string]bool{}
		for _, s := range snaps {
			steps[s.step] = true
			cm := openCleanerManager(t, s.dir, nil)
			cl, err := cm.Open(tp0, cfg)
			if err != nil {
				t.Fatalf("%s, crash at %s: open: %v", pass, s.step, err)
			}
			segs := cl.segments()
			for i := 0; i+1 < len(segs); i++ {
				next, err := nextOffsetOf(segs[i].file.path(), segs[i].base)
				if err != nil || next > segs[i+1].base {
					t.Fatalf("%s, crash at %s: segment %d runs to %d, past the next one at %d (%v)", pass, s.step, segs[i].base, next, segs[i+1].base, err)
				}
			}
			got := readRecords(t, cl)
			sameView(t, fmt.Sprintf("%s, crash at %s", pass, s.step), got, before)
			leftovers, _ := filepath.Glob(filepath.Join(cl.Dir(), "*.*[dp]")) // .cleaned, .swap
			for _, f := range leftovers {
				if strings.HasSuffix(f, cleanedSuffix) || strings.HasSuffix(f, swapSuffix) {
					t.Fatalf("%s, crash at %s: %s left after recovery", pass, s.step, f)
				}
			}
			cm.Close()
		}
		for _, want := range []string{"begin", "cleaned-written", "swap-renamed", "old-deleted", "swap-done", "checkpointed"} {
			if !steps[want] {
				t.Fatalf("%s: no crash at step %s (saw %v)", pass, want, steps)
			}
		}
		snaps = nil
	}

	add(36)
	// Tombstones that stay the last record of their keys.
	mustAppend(t, l, keyedBatch(record.CodecNone, 5000, kv{key: "k1", tomb: true}, kv{key: "u3", tomb: true}))
	mustAppend(t, l, keyedBatch(record.CodecZstd, 5001, kv{key: "k3", tomb: true}))
	add(4)
	before := readRecords(t, l)
	cleanOnce(t, m)
	check("first pass", before)

	clock.Advance(time.Minute) // past every delete horizon
	add(8)
	before = readRecords(t, l)
	cleanOnce(t, m)
	if m.cleaner.lastStats.tombstonesRemoved == 0 {
		t.Fatalf("second pass removed no tombstone: %+v", m.cleaner.lastStats)
	}
	check("second pass", before)
}

// sameView checks that got holds only records of before, and that every
// key reads the same: its last record in before, or absent if that was
// a tombstone (which compaction may remove).
func sameView(t testing.TB, what string, got, before []storedRecord) {
	t.Helper()
	byOffset := map[int64]storedRecord{}
	for _, r := range before {
		byOffset[r.offset] = r
	}
	for _, r := range got {
		if b, ok := byOffset[r.offset]; !ok || b != r {
			t.Fatalf("%s: record %v was not in the log before", what, r)
		}
	}
	lastBefore, lastGot := map[string]storedRecord{}, map[string]storedRecord{}
	for _, r := range before {
		lastBefore[r.key] = r
	}
	for _, r := range got {
		lastGot[r.key] = r
	}
	for k, b := range lastBefore {
		g, ok := lastGot[k]
		if !ok && b.tomb {
			continue
		}
		if g != b {
			t.Fatalf("%s: key %s reads %v (present %v), want %v", what, k, g, ok, b)
		}
	}
}

// copyLive copies a data directory that a live Manager is using; files
// that disappear meanwhile (temporary checkpoint files) are skipped.
func copyLive(t testing.TB, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		in, err := os.Open(path)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.Create(target)
		if err != nil {
			return err
		}
		defer out.Close()
		_, err = io.Copy(out, in)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}
