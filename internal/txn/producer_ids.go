package txn

// Producer ids for InitProducerId. Like Kafka's ProducerIdManager, ids come
// in blocks: taking a block is the only durable step, so handing out an id
// costs a mutex and an increment, and a block's end is on disk before any
// id from it leaves. A crash loses the unused rest of a block, never
// repeats an id.
//
// Blocks come from a BlockSource: the broker takes them from the Raft
// metadata log, so ids are unique across the cluster (internal/server,
// producer_ids.go). The file source here is what brokers used before; its
// end is read once (ProducerIDsFileEnd) so those ids are never repeated.

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"sync"
)

// DefaultProducerIDBlockSize is how many ids are taken at once, Kafka's
// block size.
const DefaultProducerIDBlockSize = 1000

// ErrProducerIDsExhausted means the int64 id space is used up.
var ErrProducerIDsExhausted = errors.New("txn: producer ids exhausted")

// ErrCorruptProducerIDs means the persisted block end cannot be read back;
// starting anyway could repeat ids, so it is left to an operator.
var ErrCorruptProducerIDs = errors.New("txn: corrupt producer id block file")

// BlockSource hands out disjoint blocks of producer ids [start, end). A
// block is durable when NextBlock returns: no later call, in this process
// or after a restart, returns an overlapping block.
type BlockSource interface {
	NextBlock() (start, end int64, err error)
}

// ProducerIDs hands out producer ids, each once. It is safe for concurrent
// use.
type ProducerIDs struct {
	src BlockSource
	mu  struct {
		sync.Mutex
		// next is the id Next returns next; next <= end always, and
		// next == end means the current block is used up.
		next, end int64
	}
}

// NewProducerIDs hands out ids from the blocks of src.
func NewProducerIDs(src BlockSource) *ProducerIDs {
	return &ProducerIDs{src: src}
}

// OpenProducerIDs hands out ids from blocks of blockSize recorded in the
// file at path, created (with its directory) if missing; a new file starts
// at id 0. After a restart ids continue after the last block taken.
func OpenProducerIDs(path string, blockSize int64) (*ProducerIDs, error) {
	src, err := openFileBlocks(path, blockSize)
	if err != nil {
		return nil, err
	}
	return NewProducerIDs(src), nil
}

// ProducerIDsFileEnd reads the end of the last block recorded in the file
// at path by OpenProducerIDs (0 if there is no file): the ids a broker
// handed out on its own, which a cluster-wide source must not repeat.
func ProducerIDsFileEnd(path string) (int64, error) {
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return 0, nil
	case err != nil:
		return 0, fmt.Errorf("txn: read producer id block file: %w", err)
	}
	end, err := parseBlockFile(b)
	if err != nil {
		return 0, fmt.Errorf("%w: %s: %v", ErrCorruptProducerIDs, path, err)
	}
	return end, nil
}

// Next returns a producer id never returned before. It fails only when a
// new block cannot be taken (for a file, when it cannot be written and
// synced); the next call tries again.
func (p *ProducerIDs) Next() (int64, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.mu.next == p.mu.end {
		// NB: the lock is held across the durable write: the callers
		// that arrive meanwhile need an id from this very block.
		start, end, err := p.src.NextBlock()
		if err != nil {
			return -1, err
		}
		if start < 0 || end <= start {
			return -1, fmt.Errorf("txn: block source returned an empty or negative block [%d, %d)", start, end)
		}
		p.mu.next, p.mu.end = start, end
	}
	id := p.mu.next
	p.mu.next++
	return id, nil
}

// fileBlocks is a BlockSource keeping the end of the last block taken in a
// file. Calls are serialized by ProducerIDs' mutex.
type fileBlocks struct {
	path      string
	blockSize int64
	end       int64 // end of the last block taken: the next block's start
}

func openFileBlocks(path string, blockSize int64) (*fileBlocks, error) {
	if blockSize <= 0 {
		return nil, fmt.Errorf("txn: producer id block size %d must be positive", blockSize)
	}
	f := &fileBlocks{path: path, blockSize: blockSize}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("txn: producer id block file: %w", err)
	}
	// A temporary file left by a crash mid-write never became the block
	// end; the file it was to replace still holds the truth.
	os.Remove(path + ".tmp")
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return f, nil
	case err != nil:
		return nil, fmt.Errorf("txn: read producer id block file: %w", err)
	}
	if f.end, err = parseBlockFile(b); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCorruptProducerIDs, path, err)
	}
	return f, nil
}

// The block file is three text lines: a format version, the end of the last
// block taken, and the CRC-32C of the first two lines. The CRC keeps a
// flipped digit from silently moving ids backwards.
const blockFileVersion = 0

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func formatBlockFile(end int64) []byte {
	body := fmt.Appendf(nil, "%d\n%d\n", blockFileVersion, end)
	return fmt.Appendf(body, "%d\n", crc32.Checksum(body, castagnoli))
}

func parseBlockFile(b []byte) (int64, error) {
	lines := bytes.Split(b, []byte("\n"))
	if len(lines) != 4 || len(lines[3]) != 0 {
		return 0, fmt.Errorf("want 3 lines")
	}
	body := b[:len(lines[0])+len(lines[1])+2]
	crc, err := strconv.ParseUint(string(lines[2]), 10, 32)
	if err != nil || uint32(crc) != crc32.Checksum(body, castagnoli) {
		return 0, fmt.Errorf("CRC mismatch")
	}
	if string(lines[0]) != strconv.Itoa(blockFileVersion) {
		return 0, fmt.Errorf("unknown version %q", lines[0])
	}
	end, err := strconv.ParseInt(string(lines[1]), 10, 64)
	if err != nil || end < 0 || !bytes.Equal(formatBlockFile(end), b) {
		return 0, fmt.Errorf("bad block end %q", lines[1])
	}
	return end, nil
}

// NextBlock takes [end, end+blockSize) and makes it durable before
// returning: the new end is written to a temporary file, fsynced, renamed
// over the old one, and the directory fsynced.
func (f *fileBlocks) NextBlock() (start, end int64, err error) {
	if f.end > math.MaxInt64-f.blockSize {
		return 0, 0, ErrProducerIDsExhausted
	}
	start, end = f.end, f.end+f.blockSize
	if err := writeFileDurably(f.path, formatBlockFile(end)); err != nil {
		return 0, 0, fmt.Errorf("txn: persist producer id block: %w", err)
	}
	f.end = end
	return start, end, nil
}

func writeFileDurably(path string, data []byte) error {
	tmp := path + ".tmp"
	fh, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	_, err = fh.Write(data)
	if err == nil {
		err = fh.Sync()
	}
	if cerr := fh.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	dir, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer dir.Close()
	return dir.Sync()
}
