package metadata

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// import.go: upgrading a data directory from the single-node journal.
// The journal's image is proposed once, as a command that applies only to
// the empty image (offset 0), so it becomes part of the replicated log;
// then the journal is renamed aside. A crash between the two is harmless:
// the next start proposes again and the precondition refuses it.

const importedSuffix = ".imported"

// readOldJournal returns the image of dir's pre-Raft journal, nil if there
// is none (or it is empty).
func readOldJournal(dir string) (*Image, error) {
	path := filepath.Join(dir, journalName)
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	img, _, err := replayJournal(path)
	if err != nil {
		return nil, fmt.Errorf("metadata: reading the old journal %s: %w", path, err)
	}
	if img.Offset == 0 {
		return nil, os.Rename(path, path+importedSuffix)
	}
	return img, nil
}

// importRetry is the pause between attempts to import while there is no
// quorum.
const importRetry = 100 * time.Millisecond

// startImport proposes img (if any) until the quorum answers, then
// renames the journal aside and closes s.importing.
func (s *Store) startImport(img *Image) {
	if img == nil {
		close(s.importing)
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		path := filepath.Join(s.opts.Dir, journalName)
		zero := int64(0)
		for {
			ctx, cancel := context.WithTimeout(s.ctx, UpdateTimeout)
			err := s.propose(ctx, command{Import: img, IfOffset: &zero, ID: NewUUID().String()})
			cancel()
			switch {
			case err == nil:
				s.log.Info("metadata: imported the old journal", "offset", img.Offset, "topics", len(img.Topics))
			case errors.Is(err, ErrConflict):
				s.log.Warn("metadata: the old journal was not imported: the metadata log already has records (imported before, or this node joined a cluster that has metadata)", "journal", path)
			case s.ctx.Err() != nil:
				return
			default:
				s.log.Info("metadata: importing the old journal, will retry", "err", err)
				select {
				case <-s.ctx.Done():
					return
				case <-time.After(importRetry):
				}
				continue
			}
			if err := os.Rename(path, path+importedSuffix); err != nil {
				s.log.Error("metadata: renaming the imported journal", "err", err)
			}
			close(s.importing)
			return
		}
	}()
}
