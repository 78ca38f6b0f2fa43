package storage

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
)

// sampleProducerLog builds a state with several producers: one with a full
// window of batches, one after an epoch bump, one whose epoch moved with a
// marker only.
func sampleProducerLog(t *testing.T) *producerLog {
	t.Helper()
	l := newProducerLog()
	var steps []step
	for i := range int32(7) {
		steps = append(steps, step{pid: 100, epoch: 2, seq: i * 3, n: 3})
	}
	steps = append(steps,
		step{pid: 7, epoch: 0, seq: 0, n: 1},
		step{pid: 7, epoch: 1, seq: 0, n: 2},
		step{pid: 1 << 40, epoch: 32000, seq: 2_000_000_000, n: 4},
		step{pid: 3, epoch: 0, seq: 0, n: 1},
		step{pid: 3, epoch: 1, control: true},
	)
	runSteps(t, l, steps)
	return l
}

func TestProducerSnapshotRoundTrip(t *testing.T) {
	dir := t.TempDir()
	l := sampleProducerLog(t)
	if err := l.s.WriteSnapshot(dir, l.next); err != nil {
		t.Fatal(err)
	}
	got, off, err := LoadProducerSnapshot(dir, l.next)
	if err != nil {
		t.Fatal(err)
	}
	if off != l.next {
		t.Fatalf("snapshot offset %d, want %d", off, l.next)
	}
	if !reflect.DeepEqual(got.producers, l.s.producers) {
		t.Fatalf("loaded state differs:\n got %+v\nwant %+v", got.producers, l.s.producers)
	}
	// The loaded state behaves like the original: duplicates and sequence
	// checks carry over a restart.
	l.s = got
	runSteps(t, l, []step{
		{pid: 100, epoch: 2, seq: 18, n: 3, wantDup: &BatchRef{18, 20, 1006}},
		{pid: 100, epoch: 2, seq: 22, n: 1, wantErr: ErrOutOfOrderSequence},
		{pid: 100, epoch: 1, seq: 21, n: 1, wantErr: ErrInvalidProducerEpoch},
		{pid: 100, epoch: 2, seq: 21, n: 1},
		{pid: 3, epoch: 1, seq: 1, n: 1, wantErr: ErrOutOfOrderSequence},
		{pid: 3, epoch: 1, seq: 0, n: 1},
	})

	// Empty state, offset 0.
	empty := t.TempDir()
	if err := NewProducerStates().WriteSnapshot(empty, 0); err != nil {
		t.Fatal(err)
	}
	s, off, err := LoadProducerSnapshot(empty, 0)
	if err != nil || off != 0 || s.Len() != 0 {
		t.Fatalf("empty snapshot: %v, %d, %v", s, off, err)
	}
}

func snapshotOffsets(t *testing.T, dir string) []int64 {
	t.Helper()
	offs, err := listProducerSnapshots(dir)
	if err != nil {
		t.Fatal(err)
	}
	return offs
}

func TestProducerSnapshotRetention(t *testing.T) {
	dir := t.TempDir()
	s := NewProducerStates()
	for _, off := range []int64{10, 20, 30, 40} {
		if err := s.WriteSnapshot(dir, off); err != nil {
			t.Fatal(err)
		}
	}
	if got := snapshotOffsets(t, dir); !slices.Equal(got, []int64{30, 40}) {
		t.Fatalf("snapshots %v, want the newest two [30 40]", got)
	}
	// A snapshot above the one being written is stale (from before a
	// truncation) and goes.
	if err := s.WriteSnapshot(dir, 35); err != nil {
		t.Fatal(err)
	}
	if got := snapshotOffsets(t, dir); !slices.Equal(got, []int64{30, 35}) {
		t.Fatalf("snapshots %v, want [30 35]", got)
	}
	// Other files are left alone and no temporary file remains.
	os.WriteFile(filepath.Join(dir, "00000000000000000000.log"), nil, 0o644)
	if err := s.WriteSnapshot(dir, 50); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	want := []string{"00000000000000000000.log", "00000000000000000035.snapshot", "00000000000000000050.snapshot"}
	if !slices.Equal(names, want) {
		t.Fatalf("files %v, want %v", names, want)
	}
}

func TestProducerSnapshotRefusesStateAheadOfOffset(t *testing.T) {
	l := sampleProducerLog(t)
	if err := l.s.WriteSnapshot(t.TempDir(), 5); err == nil {
		t.Fatal("wrote a snapshot at an offset below recorded batches")
	}
}

func TestLoadProducerSnapshotChoosesAndSkips(t *testing.T) {
	dir := t.TempDir()
	l := newProducerLog()
	runSteps(t, l, []step{{pid: 1, seq: 0, n: 5}}) // offsets 0-4
	if err := l.s.WriteSnapshot(dir, 5); err != nil {
		t.Fatal(err)
	}
	runSteps(t, l, []step{{pid: 1, seq: 5, n: 5}}) // 5-9
	if err := l.s.WriteSnapshot(dir, 10); err != nil {
		t.Fatal(err)
	}

	for _, tt := range []struct {
		max, want int64
	}{{100, 10}, {10, 10}, {9, 5}, {5, 5}, {4, 0}} {
		s, off, err := LoadProducerSnapshot(dir, tt.max)
		if err != nil || off != tt.want {
			t.Fatalf("max %d: offset %d, err %v; want %d", tt.max, off, err, tt.want)
		}
		if tt.want == 0 && s.Len() != 0 {
			t.Fatalf("max %d: no snapshot should give an empty state", tt.max)
		}
	}

	// Corrupt the newest: the loader falls back to the older and removes it.
	p10 := producerSnapshotPath(dir, 10)
	b, _ := os.ReadFile(p10)
	b[len(b)-3] ^= 0x40
	os.WriteFile(p10, b, 0o644)
	// And a leftover temporary file of a crashed write.
	os.WriteFile(producerSnapshotPath(dir, 20)+".tmp", []byte("half"), 0o644)
	s, off, err := LoadProducerSnapshot(dir, 100)
	if err != nil || off != 5 {
		t.Fatalf("after corruption: offset %d, err %v; want 5", off, err)
	}
	if s.producers[1].last().lastSeq != 4 {
		t.Fatalf("loaded the wrong state: %+v", s.producers[1])
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 || ents[0].Name() != filepath.Base(producerSnapshotPath(dir, 5)) {
		t.Fatalf("left %v, want only the good snapshot", ents)
	}

	// Missing directory: nothing to load.
	s, off, err = LoadProducerSnapshot(filepath.Join(dir, "nope"), 100)
	if err != nil || off != 0 || s.Len() != 0 {
		t.Fatalf("missing dir: %v %d %v", s, off, err)
	}
}

func TestDeleteProducerSnapshotsAbove(t *testing.T) {
	dir := t.TempDir()
	// Write them out of the usual order so that retention keeps all three.
	for _, off := range []int64{10, 20, 30} {
		b, _ := NewProducerStates().encodeSnapshot(off)
		os.WriteFile(producerSnapshotPath(dir, off), b, 0o644)
	}
	if err := DeleteProducerSnapshotsAbove(dir, 20); err != nil {
		t.Fatal(err)
	}
	if got := snapshotOffsets(t, dir); !slices.Equal(got, []int64{10, 20}) {
		t.Fatalf("snapshots %v, want [10 20]", got)
	}
	if err := DeleteProducerSnapshotsAbove(dir, 0); err != nil {
		t.Fatal(err)
	}
	if got := snapshotOffsets(t, dir); len(got) != 0 {
		t.Fatalf("snapshots %v, want none", got)
	}
	if err := DeleteProducerSnapshotsAbove(filepath.Join(dir, "nope"), 0); err != nil {
		t.Fatalf("missing dir: %v", err)
	}
}

// resealSnapshot fixes the CRC after a deliberate edit, so the structural
// checks behind it are what is tested.
func resealSnapshot(b []byte) []byte {
	binary.BigEndian.PutUint32(b[2:], crc32.Checksum(b[snapshotCRCStart:], producerSnapshotCRC))
	return b
}

func TestDecodeSnapshotCorrupt(t *testing.T) {
	l := sampleProducerLog(t)
	good, err := l.s.encodeSnapshot(l.next)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := decodeSnapshot(good); err != nil {
		t.Fatalf("good snapshot: %v", err)
	}
	edit := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	firstEntry := snapshotHeaderSize // producer 3, whose marker left it no batches
	tests := []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"short header", good[:10]},
		{"truncated", good[:len(good)-1]},
		{"truncated and resealed", resealSnapshot(bytes.Clone(good[:len(good)-1]))},
		{"trailing byte", resealSnapshot(append(bytes.Clone(good), 0))},
		{"bit flip", edit(func(b []byte) []byte { b[len(b)/2] ^= 1; return b })},
		{"bad CRC", edit(func(b []byte) []byte { b[3] ^= 1; return b })},
		{"version 2", resealSnapshot(edit(func(b []byte) []byte { b[1] = 2; return b }))},
		{"huge count", resealSnapshot(edit(func(b []byte) []byte { binary.BigEndian.PutUint32(b[14:], 1<<31); return b }))},
		{"count one too many", resealSnapshot(edit(func(b []byte) []byte { b[17]++; return b }))},
		{"negative offset", resealSnapshot(edit(func(b []byte) []byte { b[6] = 0x80; return b }))},
		{"offset below the batches", resealSnapshot(edit(func(b []byte) []byte { binary.BigEndian.PutUint64(b[6:], 3); return b }))},
		{"too many batches", resealSnapshot(edit(func(b []byte) []byte { b[firstEntry+18] = 6; return b }))},
		{"negative producer id", resealSnapshot(edit(func(b []byte) []byte { b[firstEntry] = 0xff; return b }))},
		{"unsorted producer ids", resealSnapshot(edit(func(b []byte) []byte {
			binary.BigEndian.PutUint64(b[firstEntry:], 1<<50)
			return b
		}))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := decodeSnapshot(tt.b); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("err = %v, want ErrCorrupt", err)
			}
		})
	}
}

func TestDecodeSnapshotBadBatches(t *testing.T) {
	// One producer with two batches; each case breaks one field.
	s := NewProducerStates()
	s.producers[5] = &producerEntry{epoch: 1, lastTimestamp: 9, n: 2, batches: [producerBatchesRetained]producerBatch{
		{firstSeq: 0, lastSeq: 1, firstOffset: 0, lastOffset: 1, timestamp: 8},
		{firstSeq: 2, lastSeq: 2, firstOffset: 2, lastOffset: 2, timestamp: 9},
	}}
	good, err := s.encodeSnapshot(3)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := decodeSnapshot(good); err != nil {
		t.Fatalf("good: %v", err)
	}
	b0 := snapshotHeaderSize + snapshotEntrySize // first batch
	b1 := b0 + snapshotBatchSize
	put32 := func(at int, v int32) []byte {
		b := bytes.Clone(good)
		binary.BigEndian.PutUint32(b[at:], uint32(v))
		return resealSnapshot(b)
	}
	put64 := func(at int, v int64) []byte {
		b := bytes.Clone(good)
		binary.BigEndian.PutUint64(b[at:], uint64(v))
		return resealSnapshot(b)
	}
	for name, b := range map[string][]byte{
		"negative first sequence":        put32(b0, -5),
		"negative last sequence":         put32(b0+4, -1),
		"negative first offset":          put64(b0+8, -1),
		"last offset below first":        put64(b1+16, 1),
		"offsets not ascending":          put64(b1+8, 1),
		"batch at the snapshot offset":   put64(b1+16, 3),
		"batch past the snapshot offset": put64(b1+16, 1<<40),
	} {
		t.Run(name, func(t *testing.T) {
			if _, _, err := decodeSnapshot(b); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("err = %v, want ErrCorrupt", err)
			}
		})
	}
}

// FuzzProducerSnapshot: the loader's decoder must refuse bad bytes with
// ErrCorrupt and never panic or allocate by a claimed count; what it
// accepts must encode back to the same bytes.
//
// NB: run it with a short -fuzzminimizetime (say 2s): with the default 60s
// the fuzzer spends most of its time minimizing CRC-resealed inputs.
func FuzzProducerSnapshot(f *testing.F) {
	s := NewProducerStates()
	s.producers[5] = &producerEntry{epoch: 1, lastTimestamp: 9, n: 2, batches: [producerBatchesRetained]producerBatch{
		{firstSeq: 0, lastSeq: 1, firstOffset: 0, lastOffset: 1, timestamp: 8},
		{firstSeq: 2, lastSeq: 2, firstOffset: 2, lastOffset: 2, timestamp: 9},
	}}
	s.producers[6] = &producerEntry{epoch: 3, lastTimestamp: 1}
	for _, st := range []*ProducerStates{NewProducerStates(), s} {
		b, err := st.encodeSnapshot(3)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		// Half the time fix the CRC, so mutations reach the structure.
		if len(b) > snapshotHeaderSize && b[len(b)-1]&1 == 0 {
			b = resealSnapshot(bytes.Clone(b))
		}
		s, off, err := decodeSnapshot(b)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("error not ErrCorrupt: %v", err)
			}
			return
		}
		again, err := s.encodeSnapshot(off)
		if err != nil {
			t.Fatalf("accepted state does not encode: %v", err)
		}
		if !bytes.Equal(again, b) {
			t.Fatalf("re-encoding differs:\n%x\n%x", again, b)
		}
	})
}
