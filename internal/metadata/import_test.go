package metadata

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// writeJournal writes records as an old-style journal, with a torn tail
// as a crash mid-write would leave.
func writeJournal(t *testing.T, dir string, recs []Record) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var buf []byte
	for i := range recs {
		b, err := encodeEntry(journalEntry{Record: &recs[i]})
		if err != nil {
			t.Fatal(err)
		}
		buf = append(buf, b...)
	}
	buf = append(buf, 0, 0, 1, 0, 1, 2, 3)
	if err := os.WriteFile(filepath.Join(dir, journalName), buf, 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestImportJournalOnce(t *testing.T) {
	dir := t.TempDir()
	topic := &Topic{Name: "old", ID: UUID{7}, Partitions: []Partition{{Replicas: []int32{1}, ISR: []int32{1}, Leader: 1}}}
	writeJournal(t, dir, []Record{
		{Type: TypeCluster, ClusterID: "cid"},
		{Type: TypeRegisterBroker, Broker: &Broker{NodeID: 1, Host: "h", Port: 1}},
		{Type: TypeCreateTopic, Topic: topic},
		{Type: TypeBrokerConfig, Resource: "", Configs: map[string]string{"log.retention.ms": "5"}},
	})
	s := openTestStore(t, dir)
	img := s.Image()
	if img.ClusterID != "cid" || img.Offset != 4 || img.TopicByID(UUID{7}) == nil || img.BrokerConfigs[""]["log.retention.ms"] != "5" || img.ControllerID != 1 {
		t.Fatalf("imported image: %+v", img)
	}
	if _, err := os.Stat(filepath.Join(dir, journalName)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("journal still in place after import: %v", err)
	}
	createTopic(t, s, "new", 1)
	s.Close()

	// A crash between the import and the rename: the journal is back,
	// but the log already has the import; it must not apply twice.
	if err := os.Rename(filepath.Join(dir, journalName+importedSuffix), filepath.Join(dir, journalName)); err != nil {
		t.Fatal(err)
	}
	s = openTestStore(t, dir)
	img = s.Image()
	if img.Offset != 5 || img.Topic("old") == nil || img.Topic("new") == nil {
		t.Fatalf("after reopen: offset %d topics %v", img.Offset, img.TopicNames())
	}
}
