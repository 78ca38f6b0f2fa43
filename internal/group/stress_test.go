package group

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestConcurrentChurn runs members of three groups joining, syncing,
// heartbeating, committing and leaving concurrently with admin requests
// and a moving clock (run it with -race). Nothing may deadlock, and the
// committed offsets must read the same after a replay of the log.
func TestConcurrentChurn(t *testing.T) {
	ct := newCoordTest(t, map[string]string{"offsets.topic.num.partitions": "2"})
	groups := []string{"ga", "gb", "gc"}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	var okJoins, okCommits atomic.Int64
	for w := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			g := groups[w%len(groups)]
			member := ""
			gen := int32(-1)
			for i := range 150 {
				switch rng.IntN(6) {
				case 0, 1:
					jr := joinReq(g, member, "range", fmt.Sprintf("w%d", w))
					jctx, jcancel := context.WithTimeout(ctx, 50*time.Millisecond)
					r := ct.c.JoinGroup(jctx, reqV(int16(rng.IntN(10))), jr)
					jcancel()
					if r.MemberID != "" {
						member = r.MemberID
					}
					if r.ErrorCode == 0 {
						okJoins.Add(1)
						gen = r.Generation
						assign := map[string]string{}
						for _, m := range r.Members {
							assign[m.MemberID] = "x"
						}
						sctx, scancel := context.WithTimeout(ctx, 50*time.Millisecond)
						ct.c.SyncGroup(sctx, reqV(5), syncReq(g, member, gen, assign))
						scancel()
					}
				case 2:
					ct.heartbeat(g, member, gen)
				case 3:
					if codes := ct.commit(g, member, gen, map[int32]int64{int32(i % 3): int64(i)}); codes[int32(i%3)] == 0 {
						okCommits.Add(1)
					}
					ct.commit(g+"-simple", "", -1, map[int32]int64{int32(i % 3): int64(i)})
				case 4:
					lr := kmsg.NewPtrLeaveGroupRequest()
					lr.Group, lr.MemberID = g, member
					ct.c.LeaveGroup(reqV(1), lr)
					member, gen = "", -1
				case 5:
					ct.c.ListGroups(reqV(5), kmsg.NewPtrListGroupsRequest())
					ct.c.DescribeGroup(5, g, true)
					if rng.IntN(10) == 0 {
						ct.c.DeleteGroup(g + "-simple")
					}
				}
			}
		}()
	}
	stop, clockDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(clockDone)
		for {
			select {
			case <-stop:
				return
			default:
			}
			ct.clock.Advance(700 * time.Millisecond)
			time.Sleep(time.Millisecond)
		}
	}()
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(60 * time.Second):
		t.Fatal("churn did not finish: deadlock?")
	}
	close(stop)
	<-clockDone
	t.Logf("%d joins and %d member commits succeeded", okJoins.Load(), okCommits.Load())
	if okJoins.Load() == 0 || okCommits.Load() == 0 {
		t.Fatal("the churn never formed a generation or committed: it tests nothing")
	}
	before := map[string]map[int32]int64{}
	for _, g := range append(groups, "ga-simple", "gb-simple", "gc-simple") {
		before[g] = ct.committed(g)
	}
	ct.restart()
	for g, want := range before {
		if got := ct.committed(g); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("group %s: offsets %v after replay, %v before", g, got, want)
		}
	}
}
