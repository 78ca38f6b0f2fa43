package partition

import (
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/strata-io/strata/internal/record"
	"github.com/strata-io/strata/internal/storage"
)

func oneRecord() []byte {
	return record.Build(record.BatchSpec{LeaderEpoch: -1, BaseTimestamp: 1,
		Records: []record.RecordSpec{{Value: []byte("v")}}})
}

// With fsync before ack (flush.messages=1) the high watermark, which is
// what consumers may read, never passes the fsynced data: an append that
// lands while another's fsync runs stays invisible until its own fsync.
func TestHighWatermarkWaitsForFsync(t *testing.T) {
	entered, release := make(chan struct{}, 10), make(chan struct{})
	m, err := storage.OpenManager(t.TempDir(), storage.ManagerOptions{
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		SyncFile: func(f *os.File) error {
			select {
			case entered <- struct{}{}:
			default:
			}
			<-release
			return f.Sync()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	defer close(release) // let later fsyncs (Close's) through
	lg, err := m.Open(storage.TopicPartition{Topic: "t", Partition: 0}, storage.Config{FlushMessages: 1})
	if err != nil {
		t.Fatal(err)
	}
	p := New("t", 0, 1, lg, State{Leader: 1, Replicas: []int32{1}, ISR: []int32{1}}, Settings{MinInsyncReplicas: 1})
	appendAsync := func() chan error {
		done := make(chan error, 1)
		go func() {
			_, err := p.Append(oneRecord(), -1)
			done <- err
		}()
		return done
	}
	a := appendAsync()
	<-entered // a's fsync runs (blocked)
	b := appendAsync()
	deadline := time.Now().Add(10 * time.Second)
	for lg.LogEndOffset() != 2 {
		if time.Now().After(deadline) {
			t.Fatal("the second append was not written while the first one's fsync ran")
		}
		time.Sleep(time.Millisecond)
	}
	if hw := p.HighWatermark(); hw != 0 {
		t.Fatalf("HW %d before any fsync finished, want 0", hw)
	}
	release <- struct{}{} // a's fsync ends
	if err := <-a; err != nil {
		t.Fatal(err)
	}
	<-entered // b's fsync runs (blocked)
	if hw := p.HighWatermark(); hw != 1 {
		t.Fatalf("HW %d after the first fsync, want 1: offset 1 is not fsynced yet", hw)
	}
	release <- struct{}{}
	if err := <-b; err != nil {
		t.Fatal(err)
	}
	if hw := p.HighWatermark(); hw != 2 {
		t.Fatalf("HW %d after both fsyncs, want 2", hw)
	}
}
