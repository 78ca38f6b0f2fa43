package txn

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
)

// ProducerIDs hands out producer ids that are never reused, across
// restarts and crashes. Ids come from blocks: before the first id of a
// block is handed out, the block's end is persisted (written, fsynced,
// renamed into place), so after a crash the next start begins past every
// id that could have been given out. A crash wastes the rest of a block;
// ids are int64, so that costs nothing.
//
// NB: the cluster issue moves block allocation to the metadata quorum, as
// Kafka's AllocateProducerIds does; Next keeps its signature.
type ProducerIDs struct {
	path      string
	blockSize int64

	mu struct {
		sync.Mutex
		next int64 // next id to hand out
		end  int64 // first id past the persisted block
	}
}

// OpenProducerIDs opens (or creates) the allocator state at path.
func OpenProducerIDs(path string, blockSize int64) (*ProducerIDs, error) {
	if blockSize <= 0 {
		return nil, fmt.Errorf("txn: producer id block size %d", blockSize)
	}
	p := &ProducerIDs{path: path, blockSize: blockSize}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, err
	default:
		end, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
		if err != nil || end < 0 {
			return nil, fmt.Errorf("txn: corrupt producer id file %s: %q", path, b)
		}
		p.mu.next, p.mu.end = end, end
	}
	return p, nil
}

// Next returns a fresh producer id.
func (p *ProducerIDs) Next() (int64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mu.next >= p.mu.end {
		end := p.mu.next + p.blockSize
		if err := writeFileAtomic(p.path, []byte(strconv.FormatInt(end, 10)+"\n")); err != nil {
			return -1, fmt.Errorf("txn: persisting producer id block: %w", err)
		}
		p.mu.end = end
	}
	id := p.mu.next
	p.mu.next++
	return id, nil
}

func writeFileAtomic(path string, data []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	d, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
