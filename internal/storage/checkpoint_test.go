package storage

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestOffsetCheckpointFormat(t *testing.T) {
	m := map[TopicPartition]int64{{"b", 1}: 7, {"a", 10}: 3, {"a", 2}: 100}
	want := "0\n3\na 2 100\na 10 3\nb 1 7\n"
	if got := string(formatOffsetCheckpoint(m)); got != want {
		t.Fatalf("got %q want %q", got, want)
	}
	path := filepath.Join(t.TempDir(), recoveryPointFile)
	if err := writeFileAtomic(path, []byte(want)); err != nil {
		t.Fatal(err)
	}
	back, err := readOffsetCheckpoint(path)
	if err != nil || len(back) != 3 || back[TopicPartition{"a", 2}] != 100 {
		t.Fatalf("read back %v %v", back, err)
	}
	if _, err := os.Stat(path + checkpointTmpSuffix); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("temporary file left behind")
	}
}

func TestParseCheckpointErrors(t *testing.T) {
	bad := []string{
		"",
		"0\n",
		"1\n0\n",
		"0\n2\na 0 1\n",
		"0\n1\na 0\n",
		"0\n1\na x 1\n",
		"0\n1\na 0 -5\n",
		"0\n-1\n",
	}
	for _, s := range bad {
		if _, err := parseOffsetCheckpoint([]byte(s)); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%q: %v", s, err)
		}
	}
	if m, err := readOffsetCheckpoint(filepath.Join(t.TempDir(), "missing")); err != nil || len(m) != 0 {
		t.Fatalf("missing file: %v %v", m, err)
	}
}
