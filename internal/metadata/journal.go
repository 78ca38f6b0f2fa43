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
)

// The journal is how metadata was kept before the Raft log (a single
// node's file of entries, each a 4-byte big-endian length, a 4-byte
// CRC-32C of the payload and a JSON payload: one Record, or a snapshot
// Image as the first entry). It is only read now, once, to import a data
// directory written by an older Strata (import.go). A torn or corrupt tail
// is cut at the last good entry, as the old store did at open.

const (
	journalName  = "metadata.journal"
	maxEntrySize = 64 << 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

type journalEntry struct {
	Snapshot *Image  `json:"snapshot,omitempty"`
	Record   *Record `json:"record,omitempty"`
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
