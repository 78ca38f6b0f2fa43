package main

import (
	"maps"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

func TestParseConfigs(t *testing.T) {
	for _, tc := range []struct {
		in      []string
		want    map[string]string
		wantErr string
	}{
		{in: nil, want: map[string]string{}},
		{in: []string{"retention.ms=1000"}, want: map[string]string{"retention.ms": "1000"}},
		{in: []string{"cleanup.policy=compact,delete", "a=b=c", "empty="},
			want: map[string]string{"cleanup.policy": "compact,delete", "a": "b=c", "empty": ""}},
		{in: []string{"novalue"}, wantErr: "want key=value"},
		{in: []string{"=v"}, wantErr: "want key=value"},
		{in: []string{"a=1", "a=2"}, wantErr: "given twice"},
	} {
		got, err := parseConfigs(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("parseConfigs(%q) error = %v, want %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseConfigs(%q): %v", tc.in, err)
			continue
		}
		flat := map[string]string{}
		for k, v := range got {
			flat[k] = *v
		}
		if !maps.Equal(flat, tc.want) {
			t.Errorf("parseConfigs(%q) = %v, want %v", tc.in, flat, tc.want)
		}
	}
}

func TestParseConfigNames(t *testing.T) {
	for _, tc := range []struct {
		in      []string
		want    string
		wantErr string
	}{
		{in: []string{"a"}, want: "a"},
		{in: []string{"a,b", "c"}, want: "a b c"},
		{in: []string{" a , b "}, want: "a b"},
		{in: []string{"a,"}, wantErr: "empty config name"},
		{in: []string{"a=1"}, wantErr: "only the name"},
	} {
		got, err := parseConfigNames(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("parseConfigNames(%q) error = %v, want %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || strings.Join(got, " ") != tc.want {
			t.Errorf("parseConfigNames(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestUnescapeSep(t *testing.T) {
	for in, want := range map[string]string{
		"":        "",
		":":       ":",
		`\t`:      "\t",
		`a\tb\nc`: "a\tb\nc",
		`\r\n`:    "\r\n",
		`\\t`:     `\t`,
		`\x`:      `\x`,
		`\`:       `\`,
		"\t":      "\t",
	} {
		if got := unescapeSep(in); got != want {
			t.Errorf("unescapeSep(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseMsDuration(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"0", 0, true},
		{"5", 5 * time.Millisecond, true},
		{"5ms", 5 * time.Millisecond, true},
		{"1.5s", 1500 * time.Millisecond, true},
		{"-1", 0, false},
		{"-5ms", 0, false},
		{"soon", 0, false},
	} {
		got, err := parseMsDuration(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("parseMsDuration(%q) = %v, %v; want %v ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func TestApplyProperties(t *testing.T) {
	newFS := func() (*pflag.FlagSet, *bool, *string) {
		fs := pflag.NewFlagSet("t", pflag.ContinueOnError)
		return fs, fs.Bool("print-key", false, ""), fs.String("key-separator", "\t", "")
	}
	table := map[string]string{"print.key": "print-key", "key.separator": "key-separator"}

	fs, printKey, sep := newFS()
	if err := applyProperties(fs, []string{"print.key=true", "key.separator=a=b"}, table); err != nil {
		t.Fatal(err)
	}
	if !*printKey || *sep != "a=b" || !fs.Changed("key-separator") {
		t.Errorf("print-key=%v key-separator=%q changed=%v", *printKey, *sep, fs.Changed("key-separator"))
	}

	for _, tc := range []struct{ prop, wantErr string }{
		{"print.value=true", "not supported; supported: key.separator, print.key"},
		{"print.key=maybe", "--property print.key"},
		{"print.key", "want key=value"},
	} {
		fs, _, _ := newFS()
		err := applyProperties(fs, []string{tc.prop}, table)
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("applyProperties(%q) error = %v, want %q", tc.prop, err, tc.wantErr)
		}
	}
}
