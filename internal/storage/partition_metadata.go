package storage

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// partitionMetadataFile names the file in a partition directory that holds
// the id of the topic the data belongs to, in Kafka's format:
//
//	version: 0
//	topic_id: <base64url uuid>
//
// It tells a recreated topic's partition from a deleted namesake's
// leftover directory.
const partitionMetadataFile = "partition.metadata"

// TopicID returns the topic id recorded in the partition directory;
// ok=false when none is recorded yet.
func (l *Log) TopicID() (id [16]byte, ok bool, err error) {
	b, err := os.ReadFile(filepath.Join(l.dir, partitionMetadataFile))
	if errors.Is(err, fs.ErrNotExist) {
		return id, false, nil
	}
	if err != nil {
		return id, false, err
	}
	var version, encoded string
	for _, line := range strings.Split(string(b), "\n") {
		k, v, found := strings.Cut(line, ":")
		if !found {
			continue
		}
		switch strings.TrimSpace(k) {
		case "version":
			version = strings.TrimSpace(v)
		case "topic_id":
			encoded = strings.TrimSpace(v)
		}
	}
	raw, derr := base64.RawURLEncoding.DecodeString(encoded)
	if version != "0" || derr != nil || len(raw) != 16 {
		return id, false, fmt.Errorf("%w: %s in %s", ErrCorrupt, partitionMetadataFile, l.dir)
	}
	copy(id[:], raw)
	return id, true, nil
}

// SetTopicID records the topic id in the partition directory. The file is
// fsynced by the log's next flush, before any of its data counts as
// flushed (Kafka also flushes it asynchronously): a power failure before
// that leaves no file, or an unreadable one, and either way no flushed data
// it should have named, so the directory is taken as new or set aside,
// never served under the wrong topic.
func (l *Log) SetTopicID(id [16]byte) error {
	content := "version: 0\ntopic_id: " + base64.RawURLEncoding.EncodeToString(id[:]) + "\n"
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := writeFileReplace(filepath.Join(l.dir, partitionMetadataFile), []byte(content)); err != nil {
		return err
	}
	l.mu.topicIDDirty = true
	return nil
}
