package metadata

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/hashicorp/raft"
)

// fsm.go: the Raft state machine. Every entry of the Raft log that is not
// Raft's own (configuration, no-op) is one command: a batch of records
// that applies as a whole or not at all. Apply is deterministic (it
// depends only on the image and the command), so every node that applies
// the same log holds the same image.

// command is the payload of one Raft log entry.
type command struct {
	Records []Record `json:"records,omitempty"`
	// IfOffset, when set, is the image offset the records were computed
	// from; the command is rejected with ErrConflict if the image has
	// moved on (Update's optimistic concurrency).
	IfOffset *int64 `json:"if_offset,omitempty"`
	// Import replaces an empty image with one read from the pre-Raft
	// journal (see import.go). It is only valid with IfOffset 0.
	Import *Image `json:"import,omitempty"`
	// ID names one proposal of a conditional command, so that a retry
	// after an ambiguous failure (the leader lost its leadership while
	// the entry was committing) learns that its first copy applied
	// instead of seeing a conflict with itself.
	ID string `json:"id,omitempty"`
}

// appliedIDs remembers the ids of the last conditional commands applied
// on this node and the offset each reached. It only ever changes an
// answer, never the image: a duplicate is refused by its precondition on
// every node alike, and a node that forgot the id (it restored a
// snapshot since) answers ErrConflict instead, which Update handles by
// running fn again. Owned by the FSM goroutine.
type appliedIDs struct {
	offsets map[string]int64
	ring    []string
	next    int
}

const appliedIDsKept = 1024

func (a *appliedIDs) add(id string, offset int64) {
	if a.offsets == nil {
		a.offsets = make(map[string]int64, appliedIDsKept)
		a.ring = make([]string, appliedIDsKept)
	}
	if old := a.ring[a.next]; old != "" {
		delete(a.offsets, old)
	}
	a.ring[a.next] = id
	a.next = (a.next + 1) % appliedIDsKept
	a.offsets[id] = offset
}

func (a *appliedIDs) get(id string) (int64, bool) {
	off, ok := a.offsets[id]
	return off, ok
}

// applyResult is what FSM.Apply returns to the proposer on the leader:
// the image offset after the command, or why it was rejected.
type applyResult struct {
	offset int64
	err    error
}

// applyCommand returns the image after cmd, or an error and no image.
func applyCommand(img *Image, cmd command) (*Image, error) {
	if cmd.IfOffset != nil && *cmd.IfOffset != img.Offset {
		return nil, fmt.Errorf("%w: computed at offset %d, image is at %d", ErrConflict, *cmd.IfOffset, img.Offset)
	}
	if cmd.Import != nil {
		if cmd.IfOffset == nil || *cmd.IfOffset != 0 || len(cmd.Records) > 0 {
			return nil, fmt.Errorf("%w: an import must be alone and apply to the empty image", ErrInvalidRecord)
		}
		next := cmd.Import.clone() // clone rebuilds the id index
		next.reindex()
		next.ControllerID = img.ControllerID
		return next, nil
	}
	next := img
	for i, r := range cmd.Records {
		var err error
		if next, err = apply(next, r); err != nil {
			return nil, fmt.Errorf("record %d of %d (%s): %w", i+1, len(cmd.Records), r.Type, err)
		}
	}
	return next, nil
}

// fsm adapts the Store to raft.FSM. Apply, Snapshot and Restore run on
// the Raft library's one FSM goroutine, in log order.
type fsm struct{ s *Store }

// Apply applies one committed command. A command that does not apply is
// rejected and changes nothing; it never stops the state machine.
func (f fsm) Apply(l *raft.Log) any {
	var cmd command
	if err := json.Unmarshal(l.Data, &cmd); err != nil {
		f.s.log.Error("metadata: undecodable raft entry (skipped)", "index", l.Index, "err", err)
		return &applyResult{offset: f.s.Image().Offset, err: fmt.Errorf("%w: undecodable command: %v", ErrInvalidRecord, err)}
	}
	f.s.pub.Lock()
	defer f.s.pub.Unlock()
	cur := f.s.img.Load()
	next, err := applyCommand(cur, cmd)
	if err != nil {
		if off, ok := f.s.applied.get(cmd.ID); ok && cmd.ID != "" && errors.Is(err, ErrConflict) {
			return &applyResult{offset: off} // a retry of a command that applied
		}
		if !errors.Is(err, ErrConflict) {
			f.s.log.Debug("metadata: command rejected", "index", l.Index, "err", err)
		}
		return &applyResult{offset: cur.Offset, err: err}
	}
	f.s.publishLocked(next)
	if cmd.ID != "" {
		f.s.applied.add(cmd.ID, next.Offset)
	}
	return &applyResult{offset: next.Offset}
}

// Snapshot captures the current image; images are immutable, so Persist
// may encode it on another goroutine while commands go on applying.
func (f fsm) Snapshot() (raft.FSMSnapshot, error) {
	return imageSnapshot{img: f.s.Image()}, nil
}

// Restore replaces the image with a snapshot's (at start, or when the
// leader sends one to a follower that is too far behind).
func (f fsm) Restore(rc io.ReadCloser) error {
	defer rc.Close()
	img := emptyImage()
	if err := json.NewDecoder(rc).Decode(img); err != nil {
		return fmt.Errorf("metadata: decoding snapshot: %w", err)
	}
	img.reindex()
	f.s.pub.Lock()
	defer f.s.pub.Unlock()
	img.ControllerID = f.s.img.Load().ControllerID // not part of the log
	f.s.publishLocked(img)
	return nil
}

// imageSnapshot is a snapshot: the Image as JSON.
type imageSnapshot struct{ img *Image }

func (s imageSnapshot) Persist(sink raft.SnapshotSink) error {
	if err := json.NewEncoder(sink).Encode(s.img); err != nil {
		_ = sink.Cancel()
		return err
	}
	return sink.Close()
}

func (imageSnapshot) Release() {}
