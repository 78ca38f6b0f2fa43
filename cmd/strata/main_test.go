package main

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
)

// runCLI runs the strata command line in-process, as main would, with
// stdin as input, and returns what it printed.
func runCLI(ctx context.Context, stdin string, args ...string) (stdout, stderr string, err error) {
	root := newRootCmd()
	var out, errOut bytes.Buffer
	root.SetArgs(args)
	root.SetIn(strings.NewReader(stdin))
	root.SetOut(&out)
	root.SetErr(&errOut)
	err = root.ExecuteContext(ctx)
	return out.String(), errOut.String(), err
}

// TestFlagsCheckedBeforeConnecting runs commands with bad flags against an
// address nothing listens on: each must fail on the flag, not on the
// connection.
func TestFlagsCheckedBeforeConnecting(t *testing.T) {
	const nowhere = "--bootstrap-server=127.0.0.1:1"
	for _, tc := range []struct {
		args    []string
		stdin   string
		wantErr string
	}{
		{[]string{"topic", "create", "t", "--partitions", "0"}, "", "--partitions 0"},
		{[]string{"topic", "create", "t", "--partitions", "-3"}, "", "--partitions -3"},
		{[]string{"topic", "create", "t", "--replication-factor", "0"}, "", "--replication-factor 0"},
		{[]string{"topic", "create", "bad/name"}, "", `contains '/'`},
		{[]string{"topic", "create"}, "", "no topic given"},
		{[]string{"topic", "create", "a", "--topic", "b"}, "", "topic given twice"},
		{[]string{"topic", "create", "t", "--config", "novalue"}, "", "--config \"novalue\": want key=value"},
		{[]string{"topic", "delete"}, "", "no topic given"},
		{[]string{"topic", "alter-config", "t"}, "", "nothing to change"},
		{[]string{"topic", "add-partitions", "t"}, "", "--partitions N"},
		{[]string{"topic", "list", "--bootstrap-server", "nohost"}, "", `"nohost" is not host:port`},
		{[]string{"topic", "list", "--request-timeout", "0s"}, "", "--request-timeout must be positive"},
		{[]string{"produce"}, "", "--topic is required"},
		{[]string{"produce", "--topic", "t", "--acks", "2"}, "", `--acks "2"`},
		{[]string{"produce", "--topic", "t", "--compression", "brotli"}, "", `--compression "brotli"`},
		{[]string{"produce", "--topic", "t", "--partition", "-2"}, "", "--partition -2"},
		{[]string{"produce", "--topic", "t", "--linger", "soon"}, "", "neither milliseconds nor a duration"},
		{[]string{"produce", "--topic", "t", "--header", "x"}, "", "--header \"x\""},
		{[]string{"produce", "--topic", "t", "--key-separator", ""}, "", "--key-separator must not be empty"},
		{[]string{"produce", "--topic", "t", "--parse-key", "--parse-headers"}, "", "--headers-delimiter and --key-separator must differ"},
		{[]string{"produce", "--topic", "t", "--property", "parse.key=yes"}, "", "--property parse.key"},
		{[]string{"produce", "--topic", "t", "--property", "acks=1"}, "", "--property acks is not supported"},
		{[]string{"consume"}, "", "--topic is required"},
		{[]string{"consume", "--topic", "t", "--offset", "5"}, "", "--offset N needs --partition"},
		{[]string{"consume", "--topic", "t", "--offset", "-5", "--partition", "0"}, "", `--offset "-5"`},
		{[]string{"consume", "--topic", "t", "--offset", "earliest", "--from-beginning"}, "", "none of the others can be"},
		{[]string{"consume", "--topic", "t", "--from-timestamp", "yesterday"}, "", "--from-timestamp \"yesterday\""},
		{[]string{"consume", "--topic", "t", "--format", "xml"}, "", `--format "xml"`},
		{[]string{"consume", "--topic", "t", "--max-messages", "-1"}, "", "--max-messages -1"},
		{[]string{"consume", "--topic", "t", "--timeout-ms", "-1"}, "", "--timeout-ms -1"},
		{[]string{"consume", "--topic", "t", "--group", "g", "--partition", "0"}, "", "cannot be used with --group"},
		{[]string{"consume", "--topic", "t", "--property", "print.key=1", "--property", "print.junk=1"}, "", "--property print.junk is not supported"},
		{[]string{"consume", "--topic", "t", "--group", "g", "--assignment-strategy", "uniform"}, "", `--assignment-strategy "uniform"`},
		{[]string{"group", "list", "--state=sleeping"}, "", `--state "sleeping"`},
		{[]string{"group", "list", "--state", "Stable,junk"}, "", `--state "junk"`},
		{[]string{"group", "list", "extra"}, "", `unexpected argument "extra"`},
		{[]string{"group", "describe"}, "", "no group given"},
		{[]string{"group", "describe", "g", "--all-groups"}, "", "not both"},
		{[]string{"group", "describe", "g", "--members", "--state"}, "", "none of the others can be"},
		{[]string{"group", "delete"}, "", "no group given"},
		{[]string{"group", "reset-offsets", "--topic", "t", "--to-earliest"}, "", "--group is required"},
		{[]string{"group", "reset-offsets", "--group", "g", "--to-earliest"}, "", "--topic T[:P,P...] or --all-topics"},
		{[]string{"group", "reset-offsets", "--group", "g", "--topic", "t"}, "", "give a reset target"},
		{[]string{"group", "reset-offsets", "--group", "g", "--topic", "t:x", "--to-latest"}, "", `"x" is not a partition number`},
		{[]string{"group", "reset-offsets", "--group", "g", "--topic", "t", "--to-offset", "-1"}, "", "--to-offset -1"},
		{[]string{"group", "reset-offsets", "--group", "g", "--topic", "t", "--to-datetime", "2026-01-01"}, "", `--to-datetime "2026-01-01"`},
		{[]string{"group", "reset-offsets", "--group", "g", "--topic", "t", "--to-earliest", "--to-latest"}, "", "none of the others can be"},
		{[]string{"group", "reset-offsets", "--group", "g", "--topic", "t", "--all-topics", "--to-latest"}, "", "none of the others can be"},
		{[]string{"group", "reset-offsets", "--group", "g", "--all-topics", "--to-latest", "--dry-run", "--execute"}, "", "none of the others can be"},
	} {
		args := tc.args
		if !slices.Contains(args, "--bootstrap-server") {
			args = append(slices.Clone(args), nowhere)
		}
		_, _, err := runCLI(t.Context(), tc.stdin, args...)
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("strata %s: error = %v, want %q", strings.Join(tc.args, " "), err, tc.wantErr)
		}
	}
}

func TestUnreachableBroker(t *testing.T) {
	for _, args := range [][]string{
		{"topic", "list"},
		{"consume", "--topic", "t"},
		{"group", "list"},
		{"group", "describe", "g"},
	} {
		_, _, err := runCLI(t.Context(), "", append(args, "--bootstrap-server=127.0.0.1:1", "--request-timeout=2s")...)
		if err == nil || !strings.Contains(err.Error(), "cannot connect to 127.0.0.1:1") {
			t.Errorf("strata %s: error = %v, want cannot connect", strings.Join(args, " "), err)
		}
	}
}

func TestBootstrapFromEnv(t *testing.T) {
	t.Setenv(bootstrapEnv, "127.0.0.1:1")
	_, _, err := runCLI(t.Context(), "", "topic", "list", "--request-timeout=2s")
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:1") {
		t.Errorf("error = %v, want it to name the address from %s", err, bootstrapEnv)
	}
}
