package group

// Script tests of the classic state machine: testdata/classic/*.txt hold
// commands and the output each must produce, on a manual clock. Run with
// -update to rewrite the expected output after a deliberate change.
//
//	join C [member=C|new|none] [proto=a,b] [meta=M] [instance=I] [session=10s] [rebalance=30s] [v=9]
//	    sends a JoinGroup for client C (member=C reuses C's member id,
//	    the default once C has one); it runs in the background
//	await join C / await sync C   waits for C's response and prints it
//	sync C [gen=N] [assign=C1:A,C2:B]   sends a SyncGroup in the background
//	heartbeat C [gen=N] [instance=I] / commit C [gen=N] P=O... / leave C... [v=N]
//	advance D      moves the clock (timers fire)
//	state          prints the group's state, generation, leader, members
//	offsets        prints the committed offsets of topic t
//	restart        rebuilds the coordinator from its log
//
// Member ids are random; output shows them by client name.

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

var update = flag.Bool("update", false, "rewrite the expected output of testdata scripts")

type scriptRun struct {
	ct      *coordTest
	t       *testing.T
	ids     map[string]string // client → member id
	names   map[string]string // member id → client
	gens    map[string]int32  // client → last generation seen
	joins   map[string]*pendingJoin
	syncs   map[string]*pendingSync
	waiting map[string]int // client → how many requests in flight
}

func TestClassicScripts(t *testing.T) {
	files, _ := filepath.Glob("testdata/classic/*.txt")
	if len(files) == 0 {
		t.Fatal("no scripts")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) { runScript(t, f) })
	}
}

func runScript(t *testing.T, path string) {
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	r := &scriptRun{
		ct: newCoordTest(t, nil), t: t,
		ids: map[string]string{}, names: map[string]string{}, gens: map[string]int32{},
		joins: map[string]*pendingJoin{}, syncs: map[string]*pendingSync{},
	}
	var out strings.Builder
	sc := bufio.NewScanner(strings.NewReader(string(raw)))
	var lines []string
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	failed := false
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			out.WriteString(line + "\n")
			continue
		}
		// Expected output: after "----" up to a blank line (which ends
		// the block and is consumed with it).
		var want []string
		if i+1 < len(lines) && lines[i+1] == "----" {
			i += 2
			for ; i < len(lines) && lines[i] != ""; i++ {
				want = append(want, lines[i])
			}
		}
		got := r.exec(line)
		out.WriteString(line + "\n----\n" + got + "\n")
		if strings.TrimRight(got, "\n") != strings.Join(want, "\n") && !*update {
			t.Errorf("%s: %s\n got: %s\nwant: %s", filepath.Base(path), line, strings.ReplaceAll(strings.TrimRight(got, "\n"), "\n", "\n      "), strings.Join(want, "\n      "))
			failed = true
		}
	}
	if *update {
		if err := os.WriteFile(path, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	} else if failed {
		t.Log("run with -update to rewrite the expected output")
	}
}

func (r *scriptRun) name(id string) string {
	if id == "" {
		return `""`
	}
	if n, ok := r.names[id]; ok {
		return n
	}
	return "?" // a member whose join answer the script has not awaited yet
}

func (r *scriptRun) bind(client, id string) {
	if id == "" || r.ids[client] == id {
		return
	}
	r.ids[client] = id
	r.names[id] = client
}

func args(fields []string) map[string]string {
	m := map[string]string{}
	for _, f := range fields {
		if k, v, ok := strings.Cut(f, "="); ok {
			m[k] = v
		}
	}
	return m
}

func code(c int16) string {
	if c == 0 {
		return "OK"
	}
	return kerr.ErrorForCode(c).(*kerr.Error).Message
}

func (r *scriptRun) gen(client string, a map[string]string) int32 {
	if g, ok := a["gen"]; ok {
		n, _ := strconv.Atoi(g)
		return int32(n)
	}
	return r.gens[client]
}

func (r *scriptRun) exec(line string) string {
	f := strings.Fields(line)
	a := args(f[1:])
	t := r.t
	switch f[0] {
	case "join":
		c := f[1]
		v := int16(9)
		if s, ok := a["v"]; ok {
			n, _ := strconv.Atoi(s)
			v = int16(n)
		}
		member := r.ids[c]
		switch a["member"] {
		case "new", "none":
			member = ""
		case "":
		default:
			member = r.ids[a["member"]]
			if member == "" {
				member = a["member"]
			}
		}
		proto := "range"
		if p, ok := a["proto"]; ok {
			proto = p
		}
		jr := joinReq("g", member, "", a["meta"])
		jr.Protocols = nil
		for _, p := range strings.Split(proto, ",") {
			jr.Protocols = append(jr.Protocols, kmsg.JoinGroupRequestProtocol{Name: p, Metadata: []byte(a["meta"])})
		}
		if s, ok := a["session"]; ok {
			d, _ := time.ParseDuration(s)
			jr.SessionTimeoutMillis = int32(d / time.Millisecond)
		}
		if s, ok := a["rebalance"]; ok {
			d, _ := time.ParseDuration(s)
			jr.RebalanceTimeoutMillis = int32(d / time.Millisecond)
		}
		if inst, ok := a["instance"]; ok {
			jr.InstanceID = &inst
		}
		before := r.awaitingCount(false)
		r.joins[c] = r.ct.join(reqV(v), jr)
		// Let the request reach the coordinator before the next command:
		// either it answers at once or it is counted as waiting.
		r.settle(r.joins[c], before)
		return ""
	case "await":
		c := f[2]
		if f[1] == "join" {
			p := r.joins[c]
			if p == nil {
				t.Fatalf("no join in flight for %s", c)
			}
			var resp *kmsg.JoinGroupResponse
			select {
			case resp = <-p.ch:
			case <-time.After(100 * time.Millisecond):
				return "(still waiting)\n"
			}
			delete(r.joins, c)
			if resp.ErrorCode == 0 || resp.ErrorCode == kerr.MemberIDRequired.Code {
				r.bind(c, resp.MemberID)
			}
			if resp.ErrorCode != 0 {
				return code(resp.ErrorCode) + "\n"
			}
			r.gens[c] = resp.Generation
			var ms []string
			for _, m := range resp.Members {
				ms = append(ms, fmt.Sprintf("%s:%s", r.name(m.MemberID), m.ProtocolMetadata))
			}
			skip := ""
			if resp.SkipAssignment {
				skip = " skip-assignment"
			}
			return fmt.Sprintf("gen=%d protocol=%s leader=%s members=[%s]%s\n", resp.Generation, *resp.Protocol, r.name(resp.LeaderID), strings.Join(ms, " "), skip)
		}
		p := r.syncs[c]
		if p == nil {
			t.Fatalf("no sync in flight for %s", c)
		}
		select {
		case resp := <-p.ch:
			delete(r.syncs, c)
			if resp.ErrorCode != 0 {
				return code(resp.ErrorCode) + "\n"
			}
			return fmt.Sprintf("assignment=%q\n", resp.MemberAssignment)
		case <-time.After(100 * time.Millisecond):
			return "(still waiting)\n"
		}
	case "sync":
		c := f[1]
		assign := map[string]string{}
		if s, ok := a["assign"]; ok {
			for _, kv := range strings.Split(s, ",") {
				k, v, _ := strings.Cut(kv, ":")
				assign[r.ids[k]] = v
			}
		}
		before := r.awaitingCount(true)
		r.syncs[c] = r.ct.sync(syncReq("g", r.ids[c], r.gen(c, a), assign))
		r.settleSync(r.syncs[c], before)
		return ""
	case "heartbeat":
		hb := kmsg.NewPtrHeartbeatRequest()
		hb.Group, hb.MemberID, hb.Generation = "g", r.ids[f[1]], r.gen(f[1], a)
		if inst, ok := a["instance"]; ok {
			hb.InstanceID = &inst
		}
		return code(r.ct.c.Heartbeat(reqV(4), hb).ErrorCode) + "\n"
	case "commit":
		offs := map[int32]int64{}
		for k, v := range a {
			if strings.HasPrefix(k, "p") {
				p, _ := strconv.Atoi(k[1:])
				o, _ := strconv.ParseInt(v, 10, 64)
				offs[int32(p)] = o
			}
		}
		member, gen := r.ids[f[1]], r.gen(f[1], a)
		if f[1] == "admin" {
			member, gen = "", -1
		}
		codes := r.ct.commit("g", member, gen, offs)
		var parts []int32
		for p := range codes {
			parts = append(parts, p)
		}
		sort.Slice(parts, func(i, j int) bool { return parts[i] < parts[j] })
		var s []string
		for _, p := range parts {
			s = append(s, fmt.Sprintf("p%d=%s", p, code(codes[p])))
		}
		return strings.Join(s, " ") + "\n"
	case "leave":
		lr := kmsg.NewPtrLeaveGroupRequest()
		lr.Group = "g"
		for _, c := range f[1:] {
			if strings.Contains(c, "=") {
				continue
			}
			lm := kmsg.NewLeaveGroupRequestMember()
			lm.MemberID = r.ids[c]
			lr.Members = append(lr.Members, lm)
		}
		resp := r.ct.c.LeaveGroup(reqV(5), lr)
		var s []string
		for _, m := range resp.Members {
			s = append(s, fmt.Sprintf("%s=%s", r.name(m.MemberID), code(m.ErrorCode)))
		}
		return strings.Join(s, " ") + "\n"
	case "advance":
		d, err := time.ParseDuration(f[1])
		if err != nil {
			t.Fatal(err)
		}
		r.ct.clock.Advance(d)
		time.Sleep(5 * time.Millisecond) // let answered requests' goroutines deliver
		return ""
	case "state":
		g := r.ct.group("g")
		if g == nil {
			return "no group\n"
		}
		g.mu.Lock()
		defer g.mu.Unlock()
		var ms []string
		for _, id := range g.joinOrder {
			ms = append(ms, r.name(id))
		}
		return fmt.Sprintf("%s gen=%d leader=%s members=[%s]\n", g.state, g.generation, r.name(g.leader), strings.Join(ms, " "))
	case "offsets":
		got := r.ct.committed("g")
		return fmt.Sprintf("p0=%d p1=%d p2=%d\n", got[0], got[1], got[2])
	case "restart":
		r.ct.restart()
		return ""
	}
	t.Fatalf("unknown command %q", line)
	return ""
}

func (r *scriptRun) awaitingCount(sync bool) int {
	g := r.ct.group("g")
	if g == nil {
		return 0
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, m := range g.members {
		if !sync && m.joinWait != nil || sync && m.syncWait != nil {
			n++
		}
	}
	return n
}

// settle waits until a background join was answered or is waiting.
func (r *scriptRun) settle(p *pendingJoin, before int) {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if len(p.ch) > 0 || r.awaitingCount(false) > before {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

func (r *scriptRun) settleSync(p *pendingSync, before int) {
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if len(p.ch) > 0 || r.awaitingCount(true) > before {
			return
		}
		time.Sleep(time.Millisecond)
	}
}
