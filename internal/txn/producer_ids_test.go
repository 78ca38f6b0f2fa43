package txn

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
)

func TestProducerIDsNeverReused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "producer-ids")
	seen := map[int64]bool{}
	for round := 0; round < 3; round++ {
		p, err := OpenProducerIDs(path, 10)
		if err != nil {
			t.Fatal(err)
		}
		// Take a few ids (less than a block, as before a crash).
		for i := 0; i < 7; i++ {
			id, err := p.Next()
			if err != nil {
				t.Fatal(err)
			}
			if seen[id] {
				t.Fatalf("round %d: id %d reused", round, id)
			}
			seen[id] = true
		}
	}
}

func TestProducerIDsConcurrent(t *testing.T) {
	p, err := OpenProducerIDs(filepath.Join(t.TempDir(), "ids"), 3)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[int64]bool{}
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				id, err := p.Next()
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				if seen[id] {
					t.Errorf("id %d handed out twice", id)
				}
				seen[id] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != 400 {
		t.Fatalf("%d ids", len(seen))
	}
}

func TestProducerIDsCorruptFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ids")
	os.WriteFile(path, []byte("garbage"), 0o644)
	if _, err := OpenProducerIDs(path, 10); err == nil {
		t.Fatal("corrupt file accepted")
	}
}
