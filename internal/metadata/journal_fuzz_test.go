package metadata

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// FuzzReplayJournal replays arbitrary journal files: replay must return an
// image or an error, never panic, and cut a bad tail so that a second
// replay of the same file gives the same image.
func FuzzReplayJournal(f *testing.F) {
	good, _ := encodeEntry(journalEntry{Record: &Record{Type: TypeCluster, ClusterID: "c"}})
	f.Add(good)
	f.Add(append(good[:len(good):len(good)], 0, 0, 0, 9, 1, 2))
	f.Add([]byte{0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), journalName)
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		img, n, err := replayJournal(path)
		if err != nil {
			return
		}
		again, n2, err := replayJournal(path)
		if err != nil || n2 != n || again.Offset != img.Offset || len(again.Topics) != len(img.Topics) {
			t.Fatalf("second replay differs: %d/%d entries, err %v", n2, n, err)
		}
	})
}

// FuzzApplyRecord applies arbitrary JSON records, wrapped in valid journal
// entries so that they get past the CRC: apply must refuse what does not
// fit the image, never panic.
func FuzzApplyRecord(f *testing.F) {
	for _, r := range []Record{
		{Type: TypeRegisterBroker, Broker: &Broker{NodeID: 1, Host: "h", Port: 1}},
		{Type: TypeCreateTopic, Topic: &Topic{Name: "t", ID: UUID{1}, Partitions: []Partition{{Replicas: []int32{1}, ISR: []int32{1}, Leader: 1}}}},
		{Type: TypePartitionChange, TopicID: UUID{1}, Partition: 0, PartitionState: &Partition{Leader: 1}},
		{Type: TypeDeleteTopic, TopicID: UUID{1}},
	} {
		b, _ := json.Marshal(r)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var r Record
		if json.Unmarshal(data, &r) != nil {
			return
		}
		img := emptyImage()
		for i := 0; i < 3; i++ { // applying twice exercises "already exists"
			next, err := apply(img, r)
			if err == nil {
				img = next
			}
		}
	})
}
