package server_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/strata-io/strata/internal/brokertest"
	"github.com/strata-io/strata/internal/config"
	"github.com/strata-io/strata/internal/server"
)

func adminFor(t *testing.T, b *server.Broker) (*kgo.Client, *kadm.Client) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(b.Addr().String()), kgo.ProducerBatchCompression(kgo.NoCompression()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl, kadm.NewClient(cl)
}

func produceN(t *testing.T, cl *kgo.Client, topic string, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := 0; i < n; i++ {
		if err := cl.ProduceSync(ctx, &kgo.Record{Topic: topic, Value: []byte("v")}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
}

func endOffset(t *testing.T, adm *kadm.Client, topic string) int64 {
	t.Helper()
	offs, err := adm.ListEndOffsets(context.Background(), topic)
	if err != nil {
		t.Fatal(err)
	}
	o, _ := offs.Lookup(topic, 0)
	if o.Err != nil {
		t.Fatal(o.Err)
	}
	return o.Offset
}

func strayDirs(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), "-stray") {
			out = append(out, e.Name())
		}
	}
	return out
}

// TestLostMetadataKeepsData: if the metadata is gone, partition data the
// broker no longer knows about is set aside, never deleted.
func TestLostMetadataKeepsData(t *testing.T) {
	dir := t.TempDir()
	b := brokertest.StartBroker(t, dir, nil)
	cl, adm := adminFor(t, b)
	if _, err := adm.CreateTopic(context.Background(), 1, 1, nil, "keep"); err != nil {
		t.Fatal(err)
	}
	produceN(t, cl, "keep", 3)
	cl.Close()
	b.Close()

	if err := os.RemoveAll(filepath.Join(dir, "_metadata")); err != nil {
		t.Fatal(err)
	}
	b = brokertest.StartBroker(t, dir, nil)
	b.Close()
	stray := strayDirs(t, dir)
	if len(stray) != 1 || !strings.HasPrefix(stray[0], "keep-0.") {
		t.Fatalf("stray dirs %v, want the old keep-0 set aside", stray)
	}
	if _, err := os.Stat(filepath.Join(dir, stray[0], "00000000000000000000.log")); err != nil {
		t.Fatalf("data of the set-aside partition is gone: %v", err)
	}
}

// TestRecreatedTopicIgnoresLeftoverDir: a directory left by a deleted
// topic (as a crash between the deletion and the removal of its files
// would leave it) is not served as a new topic of the same name.
func TestRecreatedTopicIgnoresLeftoverDir(t *testing.T) {
	dir := t.TempDir()
	b := brokertest.StartBroker(t, dir, nil)
	cl, adm := adminFor(t, b)
	ctx := context.Background()
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "again"); err != nil {
		t.Fatal(err)
	}
	produceN(t, cl, "again", 3)
	cl.Close()
	b.Close() // clean close, so the copy below is a consistent log

	saved := filepath.Join(t.TempDir(), "again-0")
	if err := os.CopyFS(saved, os.DirFS(filepath.Join(dir, "again-0"))); err != nil {
		t.Fatal(err)
	}
	b = brokertest.StartBroker(t, dir, nil)
	_, adm = adminFor(t, b)
	if _, err := adm.DeleteTopic(ctx, "again"); err != nil {
		t.Fatal(err)
	}
	b.Close()
	// Put the old files back, as if the deletion had not removed them.
	os.RemoveAll(filepath.Join(dir, "again-0"))
	if err := os.CopyFS(filepath.Join(dir, "again-0"), os.DirFS(saved)); err != nil {
		t.Fatal(err)
	}

	b = brokertest.StartBroker(t, dir, nil)
	_, adm = adminFor(t, b)
	if len(strayDirs(t, dir)) != 1 {
		t.Fatalf("leftover dir not set aside at start: %v", strayDirs(t, dir))
	}
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "again"); err != nil {
		t.Fatal(err)
	}
	if end := endOffset(t, adm, "again"); end != 0 {
		t.Fatalf("recreated topic starts at offset %d: it took the deleted topic's data", end)
	}
}

// TestTopicIDMismatchSetAside: when the metadata has a topic whose
// partition directory holds another topic id's data, that data is set
// aside and the partition starts empty.
func TestTopicIDMismatchSetAside(t *testing.T) {
	dir := t.TempDir()
	b := brokertest.StartBroker(t, dir, nil)
	cl, adm := adminFor(t, b)
	ctx := context.Background()
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "swap"); err != nil {
		t.Fatal(err)
	}
	produceN(t, cl, "swap", 5)
	cl.Close()
	b.Close()
	saved := filepath.Join(t.TempDir(), "swap-0")
	if err := os.CopyFS(saved, os.DirFS(filepath.Join(dir, "swap-0"))); err != nil {
		t.Fatal(err)
	}

	b = brokertest.StartBroker(t, dir, nil)
	_, adm = adminFor(t, b)
	if _, err := adm.DeleteTopic(ctx, "swap"); err != nil {
		t.Fatal(err)
	}
	if _, err := adm.CreateTopic(ctx, 1, 1, nil, "swap"); err != nil {
		t.Fatal(err)
	}
	b.Close()
	os.RemoveAll(filepath.Join(dir, "swap-0"))
	if err := os.CopyFS(filepath.Join(dir, "swap-0"), os.DirFS(saved)); err != nil {
		t.Fatal(err)
	}

	b = brokertest.StartBroker(t, dir, nil)
	_, adm = adminFor(t, b)
	if end := endOffset(t, adm, "swap"); end != 0 {
		t.Fatalf("new topic serves the old topic's %d records", end)
	}
	if len(strayDirs(t, dir)) != 1 {
		t.Fatalf("old data not set aside: %v", strayDirs(t, dir))
	}
}

// TestDataDirLocked: a second broker on the same data directory refuses
// to start; once the first closes, it starts.
func TestDataDirLocked(t *testing.T) {
	dir := t.TempDir()
	b := brokertest.StartBroker(t, dir, nil)
	cfg, err := config.NewBroker(map[string]string{"listeners": "127.0.0.1:0", "log.dirs": dir})
	if err != nil {
		t.Fatal(err)
	}
	if b2, err := server.New(cfg, server.Options{}); err == nil {
		b2.Close()
		t.Fatal("a second broker opened a data directory in use")
	} else if !strings.Contains(err.Error(), "in use") {
		t.Fatalf("unclear error: %v", err)
	}
	b.Close()
	b2, err := server.New(cfg, server.Options{})
	if err != nil {
		t.Fatalf("after the first broker closed: %v", err)
	}
	b2.Close()
}
