package metadata

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
)

// Store persists metadata records and publishes the resulting image.
type Store struct {
	img atomic.Pointer[Image]

	mu struct {
		sync.Mutex // serializes writers; readers use img
		journal    *journal
		subs       []func(*Image)
	}
}

// Open loads (or creates) the metadata in dir.
func Open(dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, journalName)
	img, n, err := replayJournal(path)
	if err != nil {
		return nil, err
	}
	if n > compactAfter {
		if err := writeSnapshotJournal(path, img); err != nil {
			return nil, fmt.Errorf("metadata: compacting journal: %w", err)
		}
	}
	j, err := openJournal(path)
	if err != nil {
		return nil, err
	}
	s := &Store{}
	s.mu.journal = j
	s.img.Store(img)
	return s, nil
}

// Image returns the current image. It is immutable.
func (s *Store) Image() *Image { return s.img.Load() }

// Subscribe registers fn to be called with every new image, in order, after
// it is published. fn runs with the store's write lock held: it must not
// call Update.
func (s *Store) Subscribe(fn func(*Image)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mu.subs = append(s.mu.subs, fn)
}

// Update runs fn on the current image with writers excluded, then persists
// and applies the records fn returns. fn validates; if it returns an error
// nothing is written. This is the one door for every metadata change, so
// check-then-act races (two creates of one topic) cannot happen.
func (s *Store) Update(fn func(img *Image) ([]Record, error)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.img.Load()
	recs, err := fn(cur)
	if err != nil || len(recs) == 0 {
		return err
	}
	next := cur
	for _, r := range recs {
		if next, err = apply(next, r); err != nil {
			return err
		}
	}
	if s.mu.journal == nil {
		return fmt.Errorf("metadata: store closed")
	}
	if err := s.mu.journal.append(recs); err != nil {
		return fmt.Errorf("metadata: writing journal: %w", err)
	}
	s.img.Store(next)
	for _, sub := range s.mu.subs {
		sub(next)
	}
	return nil
}

// Close closes the journal. Updates after Close fail.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.mu.journal == nil {
		return nil
	}
	err := s.mu.journal.close()
	s.mu.journal = nil
	return err
}
