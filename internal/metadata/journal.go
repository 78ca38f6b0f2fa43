package metadata

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
)

// The journal is the single-node stand-in for the Raft log: a file of
// entries, each a 4-byte big-endian length, a 4-byte CRC-32C of the payload
// and a JSON payload (one Record, or a snapshot Image as the first entry).
// An entry is fsynced before its record is applied, so an applied change
// survives kill -9. A torn or corrupt tail is cut at the last good entry.

const (
	journalName  = "metadata.journal"
	maxEntrySize = 64 << 20
	// compactAfter is the number of entries after which the journal is
	// rewritten as one snapshot at open.
	compactAfter = 4096
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

type journalEntry struct {
	Snapshot *Image  `json:"snapshot,omitempty"`
	Record   *Record `json:"record,omitempty"`
}

type journal struct {
	f *os.File
}

// replayJournal reads the journal in dir, applying every good entry, and
// truncates the file after the last good one. It returns the image and the
// number of entries read.
func replayJournal(path string) (*Image, int, error) {
	img := emptyImage()
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, 0, err
	}
	defer f.Close()
	r := bufio.NewReader(f)
	var good int64
	n := 0
	for {
		e, size, err := readEntry(r)
		if err != nil {
			if !errors.Is(err, io.EOF) {
				// A torn or corrupt tail: everything before it was
				// fsynced and applied; the tail never was.
				if terr := f.Truncate(good); terr != nil {
					return nil, 0, terr
				}
			}
			break
		}
		switch {
		case e.Snapshot != nil:
			img = e.Snapshot
			img.reindex()
		case e.Record != nil:
			next, err := apply(img, *e.Record)
			if err != nil {
				return nil, 0, fmt.Errorf("metadata journal entry %d: %w", n, err)
			}
			img = next
		}
		good += size
		n++
	}
	return img, n, f.Sync()
}

func readEntry(r io.Reader) (journalEntry, int64, error) {
	var e journalEntry
	var hdr [8]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return e, 0, errTorn
		}
		return e, 0, err
	}
	size := binary.BigEndian.Uint32(hdr[0:])
	if size > maxEntrySize {
		return e, 0, errTorn
	}
	payload := make([]byte, size)
	if _, err := io.ReadFull(r, payload); err != nil {
		return e, 0, errTorn
	}
	if crc32.Checksum(payload, castagnoli) != binary.BigEndian.Uint32(hdr[4:]) {
		return e, 0, errTorn
	}
	if err := json.Unmarshal(payload, &e); err != nil {
		return e, 0, errTorn
	}
	return e, int64(8 + size), nil
}

var errTorn = errors.New("metadata: torn journal entry")

func encodeEntry(e journalEntry) ([]byte, error) {
	payload, err := json.Marshal(e)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, 8, 8+len(payload))
	binary.BigEndian.PutUint32(buf[0:], uint32(len(payload)))
	binary.BigEndian.PutUint32(buf[4:], crc32.Checksum(payload, castagnoli))
	return append(buf, payload...), nil
}

func openJournal(path string) (*journal, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	return &journal{f: f}, nil
}

// append writes records as entries and fsyncs them.
func (j *journal) append(recs []Record) error {
	var buf []byte
	for i := range recs {
		b, err := encodeEntry(journalEntry{Record: &recs[i]})
		if err != nil {
			return err
		}
		buf = append(buf, b...)
	}
	if _, err := j.f.Write(buf); err != nil {
		return err
	}
	return j.f.Sync()
}

func (j *journal) close() error { return j.f.Close() }

// writeSnapshotJournal replaces the journal at path with one snapshot entry.
func writeSnapshotJournal(path string, img *Image) error {
	b, err := encodeEntry(journalEntry{Snapshot: img})
	if err != nil {
		return err
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
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

// reindex rebuilds the derived maps of an image decoded from JSON.
func (img *Image) reindex() {
	if img.Brokers == nil {
		img.Brokers = map[int32]Broker{}
	}
	if img.Topics == nil {
		img.Topics = map[string]*Topic{}
	}
	if img.BrokerConfigs == nil {
		img.BrokerConfigs = map[string]map[string]string{}
	}
	img.byID = make(map[UUID]*Topic, len(img.Topics))
	for _, t := range img.Topics {
		img.byID[t.ID] = t
	}
}
