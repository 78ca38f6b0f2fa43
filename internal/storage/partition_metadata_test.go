package storage

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestPartitionMetadataFile(t *testing.T) {
	m := openTestManager(t, t.TempDir(), nil)
	l, err := m.Open(tp0, Config{})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := l.TopicID(); ok || err != nil {
		t.Fatalf("fresh log has a topic id: ok=%v err=%v", ok, err)
	}
	want := [16]byte{0xde, 0xad, 0xbe, 0xef, 15: 1}
	if err := l.SetTopicID(want); err != nil {
		t.Fatal(err)
	}
	got, ok, err := l.TopicID()
	if err != nil || !ok || got != want {
		t.Fatalf("got %x ok=%v err=%v", got, ok, err)
	}
	b, _ := os.ReadFile(filepath.Join(l.Dir(), partitionMetadataFile))
	if string(b) != "version: 0\ntopic_id: 3q2-7wAAAAAAAAAAAAAAAQ\n" {
		t.Fatalf("not Kafka's format: %q", b)
	}
	for _, bad := range []string{"", "version: 1\ntopic_id: 3q2-7wAAAAAAAAAAAAAAAQ\n", "version: 0\ntopic_id: short\n"} {
		os.WriteFile(filepath.Join(l.Dir(), partitionMetadataFile), []byte(bad), 0o644)
		if _, _, err := l.TopicID(); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%q: got %v, want ErrCorrupt", bad, err)
		}
	}
}
