package txn

import (
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func TestProducerIDsSequentialAcrossBlocks(t *testing.T) {
	path := filepath.Join(t.TempDir(), "producer-ids")
	p, err := OpenProducerIDs(path, 3)
	if err != nil {
		t.Fatal(err)
	}
	for want := int64(0); want < 10; want++ {
		got, err := p.Next()
		if err != nil || got != want {
			t.Fatalf("Next = %d, %v; want %d", got, err, want)
		}
	}
	// Ten ids from blocks of 3: the fourth block, [9, 12), is on disk.
	b, _ := os.ReadFile(path)
	if end, err := parseBlockFile(b); err != nil || end != 12 {
		t.Fatalf("persisted end %d, %v; want 12", end, err)
	}
}

// TestProducerIDsReopenNeverReuses opens the file again after handing out
// ids, without any shutdown step (as after a crash): every new id must be
// above every old one.
func TestProducerIDsReopenNeverReuses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "producer-ids")
	seen := map[int64]bool{}
	maxSeen := int64(-1)
	for round, n := range []int{1, 0, 1000, 999, 1001, 5} {
		p, err := OpenProducerIDs(path, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for range n {
			id, err := p.Next()
			if err != nil {
				t.Fatal(err)
			}
			if seen[id] || id <= maxSeen {
				t.Fatalf("round %d: id %d reused or not above %d", round, id, maxSeen)
			}
			seen[id] = true
			maxSeen = id
		}
	}
}

func TestProducerIDsConcurrent(t *testing.T) {
	p, err := OpenProducerIDs(filepath.Join(t.TempDir(), "producer-ids"), 50)
	if err != nil {
		t.Fatal(err)
	}
	const goroutines, each = 8, 200
	ids := make([][]int64, goroutines)
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for range each {
				id, err := p.Next()
				if err != nil {
					t.Error(err)
					return
				}
				ids[g] = append(ids[g], id)
			}
		})
	}
	wg.Wait()
	seen := map[int64]bool{}
	for _, l := range ids {
		for _, id := range l {
			if seen[id] {
				t.Fatalf("id %d handed out twice", id)
			}
			seen[id] = true
		}
	}
	if len(seen) != goroutines*each {
		t.Fatalf("%d ids, want %d", len(seen), goroutines*each)
	}
	// Dense: blocks are used up before the next is taken.
	for id := range int64(goroutines * each) {
		if !seen[id] {
			t.Fatalf("id %d skipped", id)
		}
	}
}

// failingSource fails its first calls, then hands out blocks of 2.
type failingSource struct {
	fails int
	next  int64
}

func (f *failingSource) NextBlock() (int64, int64, error) {
	if f.fails > 0 {
		f.fails--
		return 0, 0, errors.New("disk full")
	}
	f.next += 2
	return f.next - 2, f.next, nil
}

func TestProducerIDsBlockFailure(t *testing.T) {
	p := NewProducerIDs(&failingSource{fails: 2})
	for range 2 {
		if id, err := p.Next(); err == nil {
			t.Fatalf("got id %d while no block could be taken", id)
		}
	}
	for want := int64(0); want < 5; want++ {
		if id, err := p.Next(); err != nil || id != want {
			t.Fatalf("Next = %d, %v; want %d", id, err, want)
		}
	}
}

func TestProducerIDsPersistFailure(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "producer-ids")
	p, err := OpenProducerIDs(path, 10)
	if err != nil {
		t.Fatal(err)
	}
	// A directory where the temporary file goes makes every write fail
	// (permissions would not stop root).
	if err := os.Mkdir(path+".tmp", 0o755); err != nil {
		t.Fatal(err)
	}
	if id, err := p.Next(); err == nil {
		t.Fatalf("got id %d although the block could not be persisted", id)
	}
	os.Remove(path + ".tmp")
	if id, err := p.Next(); err != nil || id != 0 {
		t.Fatalf("after recovery: %d, %v; want 0", id, err)
	}
}

func TestOpenProducerIDsErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := OpenProducerIDs(filepath.Join(dir, "a"), 0); err == nil {
		t.Fatal("block size 0 accepted")
	}
	good := formatBlockFile(123456)
	flipped := append([]byte(nil), good...)
	flipped[3] ^= 1 // a digit of the end
	for name, content := range map[string][]byte{
		"empty":         {},
		"garbage":       []byte("hello\n"),
		"flipped digit": flipped,
		"no crc":        []byte("0\n123456\n"),
		"version 1":     []byte("1\n5\n" + "0\n"),
		"truncated":     good[:len(good)-3],
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, name)
			os.WriteFile(path, content, 0o644)
			if _, err := OpenProducerIDs(path, 10); !errors.Is(err, ErrCorruptProducerIDs) {
				t.Fatalf("err = %v, want ErrCorruptProducerIDs", err)
			}
		})
	}
	// A leftover temporary file is ignored and removed.
	path := filepath.Join(dir, "ok")
	os.WriteFile(path, good, 0o644)
	os.WriteFile(path+".tmp", []byte("garbage"), 0o644)
	p, err := OpenProducerIDs(path, 10)
	if err != nil {
		t.Fatal(err)
	}
	if id, err := p.Next(); err != nil || id != 123456 {
		t.Fatalf("Next = %d, %v; want 123456", id, err)
	}
	if _, err := os.Stat(path + ".tmp"); !os.IsNotExist(err) {
		t.Fatalf("temporary file left: %v", err)
	}
}

func TestProducerIDsExhausted(t *testing.T) {
	path := filepath.Join(t.TempDir(), "producer-ids")
	os.WriteFile(path, formatBlockFile(1<<63-5), 0o644)
	p, err := OpenProducerIDs(path, 10)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Next(); !errors.Is(err, ErrProducerIDsExhausted) {
		t.Fatalf("err = %v, want ErrProducerIDsExhausted", err)
	}
}

// FuzzParseBlockFile: the block file parser must never panic, and what it
// accepts must format back to the same bytes.
func FuzzParseBlockFile(f *testing.F) {
	f.Add(formatBlockFile(0))
	f.Add(formatBlockFile(1 << 40))
	f.Fuzz(func(t *testing.T, b []byte) {
		end, err := parseBlockFile(b)
		if err != nil {
			return
		}
		if string(formatBlockFile(end)) != string(b) {
			t.Fatalf("accepted %q, formats as %q", b, formatBlockFile(end))
		}
	})
}

// TestProducerIDsFileEnd reads the end a file source left (0 without a
// file), so a cluster-wide source can start above it.
func TestProducerIDsFileEnd(t *testing.T) {
	path := filepath.Join(t.TempDir(), "producer-ids")
	if end, err := ProducerIDsFileEnd(path); err != nil || end != 0 {
		t.Fatalf("no file: %d, %v; want 0", end, err)
	}
	p, err := OpenProducerIDs(path, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for range 1001 {
		if _, err := p.Next(); err != nil {
			t.Fatal(err)
		}
	}
	if end, err := ProducerIDsFileEnd(path); err != nil || end != 2000 {
		t.Errorf("after two blocks: %d, %v; want 2000", end, err)
	}
	if err := os.WriteFile(path, []byte("0\n12\n34\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ProducerIDsFileEnd(path); !errors.Is(err, ErrCorruptProducerIDs) {
		t.Errorf("corrupt file: %v, want ErrCorruptProducerIDs", err)
	}
}
