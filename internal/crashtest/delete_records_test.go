package crashtest

import (
	"fmt"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// TestDeleteRecordsSurvivesKill moves a log start offset with DeleteRecords,
// kills the broker with SIGKILL right after the acknowledgement, and checks
// that after the restart the deleted records stay deleted: the log start
// does not go back (it would hand consumers records the operator removed)
// and the records after it are intact.
func TestDeleteRecordsSurvivesKill(t *testing.T) {
	b := newBroker(t)
	b.start()
	led := &ledger{topic: "trimmed", idempotent: true}
	createTopics(t, b.addr, 2, led)

	cl, err := kgo.NewClient(kgo.SeedBrokers(b.addr), kgo.DefaultProduceTopic(led.topic))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx := waitCtx(t, 60*time.Second)
	var rs []*kgo.Record
	for i := range 400 {
		rs = append(rs, &kgo.Record{Key: fmt.Appendf(nil, "%d", i%7), Value: fmt.Appendf(nil, "r1-trim-%09d-%s", i, pad(i))})
	}
	for _, res := range cl.ProduceSync(ctx, rs...) {
		if res.Err != nil {
			t.Fatalf("produce: %v", res.Err)
		}
		led.add(ack{res.Record.Partition, res.Record.Offset, string(res.Record.Value)})
	}

	adm := kadm.NewClient(cl)
	ends, err := adm.ListEndOffsets(ctx, led.topic)
	if err != nil || ends.Error() != nil {
		t.Fatalf("list end offsets: %v %v", err, ends.Error())
	}
	var to kadm.Offsets
	want := map[int32]int64{}
	for p, o := range ends[led.topic] {
		want[p] = o.Offset / 2
		to.Add(kadm.Offset{Topic: led.topic, Partition: p, At: want[p]})
	}
	dr, err := adm.DeleteRecords(ctx, to)
	if err != nil || dr.Error() != nil {
		t.Fatalf("delete records to %v: %v %v", want, err, dr.Error())
	}
	b.kill()
	b.start()

	logs, starts, _ := readAll(t, b.addr, led.topic)
	for p, w := range want {
		if starts[p] != w {
			t.Errorf("partition %d: log start %d after kill -9 and restart, want %d (acknowledged DeleteRecords)", p, starts[p], w)
		}
		if n := len(logs[p]); n > 0 && logs[p][0].offset != starts[p] {
			t.Errorf("partition %d: first readable offset %d, want the log start %d", p, logs[p][0].offset, starts[p])
		}
	}
	// Everything acknowledged at or after the new start must still be there.
	kept := &ledger{topic: led.topic, idempotent: true}
	for _, a := range led.snapshot() {
		if a.offset >= want[a.partition] {
			kept.add(a)
		}
	}
	verify(t, b.addr, kept)
	b.requireNoPanic()
}

func pad(i int) string {
	s := make([]byte, i%97)
	for j := range s {
		s[j] = 'x'
	}
	return string(s)
}
