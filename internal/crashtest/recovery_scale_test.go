package crashtest

import (
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestScaleRecovery measures the restart after a kill -9 of a broker
// holding STRATA_SCALE_RECOVERY_MB (5,000) MB in 4 partitions, with the
// default 1 GiB segments and the recovery points checkpointed every
// log.flush.offset.checkpoint.interval.ms (Kafka's default, 60 s):
// recovery re-reads only what follows each log's checkpointed recovery
// point (the active segments). It then measures the worst case, a
// recovery point checkpoint that says nothing, where every segment is
// re-read.
func TestScaleRecovery(t *testing.T) {
	scaleEnabled(t)
	totalMB := envInt("STRATA_SCALE_RECOVERY_MB", 5000)
	const partitions, valueSize = 4, 8 << 10
	b := newBroker(t)
	b.start()
	started := time.Now()
	topic := "recover"
	cl := newClient(t, b.addr, kgo.RecordPartitioner(kgo.RoundRobinPartitioner()),
		kgo.RequiredAcks(kgo.LeaderAck()), kgo.DisableIdempotentWrite(), kgo.ProducerLinger(2*time.Millisecond),
		kgo.ProducerBatchCompression(kgo.NoCompression()))
	resp, err := kadm.NewClient(cl).CreateTopic(waitCtx(t, time.Minute), partitions, 1, nil, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		t.Fatal(err)
	}
	n := totalMB << 20 / valueSize
	value := make([]byte, valueSize) // incompressible, so stored bytes = totalMB
	rand.Read(value)
	ctx := waitCtx(t, 30*time.Minute)
	begin := time.Now()
	for i := 0; i < n; i++ {
		cl.Produce(ctx, &kgo.Record{Topic: topic, Value: value}, func(_ *kgo.Record, err error) {
			if err != nil {
				t.Errorf("produce: %v", err)
			}
		})
	}
	if err := cl.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if t.Failed() {
		return
	}
	t.Logf("wrote %d MB (%d records of %d B) in %v", totalMB, n, valueSize, time.Since(begin).Round(time.Millisecond))
	var stored int64
	filepath.Walk(b.dataDir, func(path string, info os.FileInfo, err error) error {
		if err == nil && filepath.Ext(path) == ".log" {
			stored += info.Size()
		}
		return nil
	})
	t.Logf("segment files hold %d MB", stored>>20)

	// Wait for a recovery point checkpoint written after the data.
	ckpt := filepath.Join(b.dataDir, "recovery-point-offset-checkpoint")
	written := time.Now()
	for {
		st, err := os.Stat(ckpt)
		if err == nil && st.ModTime().After(written) {
			break
		}
		if time.Since(started) > 10*time.Minute {
			t.Fatal("no recovery point checkpoint within 10 minutes")
		}
		time.Sleep(500 * time.Millisecond)
	}
	cp, _ := os.ReadFile(ckpt)
	t.Logf("recovery point checkpoint:\n%s", cp)
	end := endOffsets(t, b.addr, topic)

	for _, worst := range []bool{false, true} {
		b.kill()
		if worst {
			// The worst case: recovery knows no recovery point.
			if err := os.Remove(ckpt); err != nil {
				t.Fatal(err)
			}
		}
		mark := b.logLen()
		begin := time.Now()
		b.start()
		ready := time.Since(begin)
		checked := recoveredBytes(b.logSince(mark))
		what := "with the checkpointed recovery points"
		if worst {
			what = "without a recovery point checkpoint (worst case)"
		}
		t.Logf("restart after kill -9 %s: ready after %v, re-read %d MB of %d MB", what, ready.Round(time.Millisecond), checked>>20, totalMB)
		if got := endOffsets(t, b.addr, topic); fmt.Sprint(got) != fmt.Sprint(end) {
			t.Fatalf("end offsets after recovery %v, want %v", got, end)
		}
	}
	b.requireNoPanic()
}

func endOffsets(t *testing.T, addr, topic string) map[int32]int64 {
	t.Helper()
	cl := newClient(t, addr)
	eo, err := kadm.NewClient(cl).ListEndOffsets(waitCtx(t, time.Minute), topic)
	if err == nil {
		err = eo.Error()
	}
	if err != nil {
		t.Fatal(err)
	}
	out := map[int32]int64{}
	for p, o := range eo[topic] {
		out[p] = o.Offset
	}
	return out
}

var bytesChecked = regexp.MustCompile(`msg="recovered log".* bytes_checked=(\d+)`)

// recoveredBytes sums what the broker's "recovered log" lines say it
// re-read.
func recoveredBytes(log string) int64 {
	var n int64
	for _, m := range bytesChecked.FindAllStringSubmatch(log, -1) {
		v, _ := strconv.ParseInt(m[1], 10, 64)
		n += v
	}
	return n
}

func (b *broker) logLen() int {
	b.logMu.Lock()
	defer b.logMu.Unlock()
	return b.log.Len()
}

func (b *broker) logSince(mark int) string {
	b.logMu.Lock()
	defer b.logMu.Unlock()
	return b.log.String()[mark:]
}
