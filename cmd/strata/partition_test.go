package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
)

func TestParseBrokerList(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    []int32
		wantErr string
	}{
		{in: "2,3,1", want: []int32{2, 3, 1}},
		{in: " 4 ", want: []int32{4}},
		{in: "1,1", wantErr: "named twice"},
		{in: "1,,2", wantErr: "broker ids"},
		{in: "a", wantErr: "broker ids"},
		{in: "-1", wantErr: "broker ids"},
	} {
		got, err := parseBrokerList("--replicas", tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%q: error %v, want one containing %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("%q: got %v, %v; want %v", tc.in, got, err, tc.want)
		}
	}
}

func TestReadReassignPlan(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) string {
		p := filepath.Join(dir, "plan.json")
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	plan, err := readReassignPlan(write(`{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[2,3,1],"log_dirs":["any","any","any"]},{"topic":"t","partition":1,"replicas":[1]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Partitions) != 2 || !slices.Equal(plan.Partitions[0].Replicas, []int32{2, 3, 1}) || plan.Partitions[1].Partition != 1 {
		t.Errorf("plan = %+v", plan)
	}
	for _, tc := range []struct{ json, wantErr string }{
		{`{"version":2,"partitions":[{"topic":"t","partition":0,"replicas":[1]}]}`, "version 2"},
		{`{"version":1,"partitions":[]}`, "no partitions"},
		{`{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[]}]}`, "no replicas"},
		{`{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1,1]}]}`, "named twice"},
		{`{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1]},{"topic":"t","partition":0,"replicas":[2]}]}`, "listed twice"},
		{`{"version":1,"partitions":[{"topic":"a b","partition":0,"replicas":[1]}]}`, "contains"},
		{`{"version":1,"partitions":[{"topic":"t","partition":0,"replicas":[1],"log_dirs":["/data"]}]}`, "log_dirs"},
		{`{"version":1,`, "unexpected end"},
	} {
		if _, err := readReassignPlan(write(tc.json)); err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("%s: error %v, want one containing %q", tc.json, err, tc.wantErr)
		}
	}
}

func TestWriteElectResults(t *testing.T) {
	rs := kadm.ElectLeadersResults{
		"t": {
			0: {Topic: "t", Partition: 0},
			1: {Topic: "t", Partition: 1, Err: kerr.ElectionNotNeeded},
			2: {Topic: "t", Partition: 2},
		},
	}
	var out bytes.Buffer
	cmd := &cobra.Command{}
	cmd.SetOut(&out)
	if err := writeElectResults(cmd, "PREFERRED", rs); err != nil {
		t.Fatal(err)
	}
	want := "Successfully completed leader election (PREFERRED) for partitions t-0, t-2\nValid replica already elected for partitions t-1\n"
	if out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}

	out.Reset()
	rs["t"][3] = kadm.ElectLeadersResult{Topic: "t", Partition: 3, Err: kerr.PreferredLeaderNotAvailable, ErrMessage: "broker 2 is fenced"}
	err := writeElectResults(cmd, "PREFERRED", rs)
	if err == nil || !strings.Contains(out.String(), "t-3: PREFERRED_LEADER_NOT_AVAILABLE") || !strings.Contains(out.String(), "broker 2 is fenced") {
		t.Errorf("err %v, output %q: want a failure naming t-3 and the broker's message", err, out.String())
	}
	if !strings.Contains(err.Error(), "1 partitions") {
		t.Errorf("err = %v", err)
	}
}

func TestPartitionFlagsCheckedBeforeConnecting(t *testing.T) {
	for _, tc := range []struct {
		args    []string
		wantErr string
	}{
		{[]string{"partition", "reassign", "--topic", "t", "--partition", "0"}, "--replicas is required"},
		{[]string{"partition", "reassign", "--topic", "t", "--replicas", "1,2"}, "give --topic and --partition"},
		{[]string{"partition", "reassign", "--verify", "--list"}, "at most one"},
		{[]string{"partition", "reassign", "--list", "--partition", "1"}, "--list takes only --topic"},
		{[]string{"partition", "reassign", "--topic", "t", "--partition", "0", "--replicas", "1,1"}, "named twice"},
		{[]string{"partition", "reassign", "--reassignment-json-file", "/nonexistent/plan.json"}, "no such file"},
		{[]string{"partition", "reassign", "--reassignment-json-file", "x", "--topic", "t"}, "not both"},
		{[]string{"partition", "elect-leaders", "--type", "dirty"}, "--type"},
		{[]string{"partition", "elect-leaders", "--partition", "1"}, "--partition needs --topic"},
		{[]string{"partition", "elect-leaders", "--topic", "t", "--all-topic-partitions"}, "only one"},
		{[]string{"cluster", "dev", "--brokers", "0"}, "--brokers 0"},
		{[]string{"cluster", "dev", "--override", "novalue"}, "key=value"},
	} {
		_, _, err := runCLI(t.Context(), "", append(tc.args, "--bootstrap-server", "127.0.0.1:1")...)
		if tc.args[0] == "cluster" {
			_, _, err = runCLI(t.Context(), "", tc.args...)
		}
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("strata %s: error %v, want one containing %q", strings.Join(tc.args, " "), err, tc.wantErr)
		}
	}
}
