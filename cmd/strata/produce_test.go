package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/twmb/franz-go/pkg/kgo"
)

// recString renders a record's key, value and headers, with <nil> for
// null, so table cases can tell null from empty.
func recString(r *kgo.Record) string {
	show := func(b []byte) string {
		if b == nil {
			return "<nil>"
		}
		return fmt.Sprintf("%q", b)
	}
	var hs []string
	for _, h := range r.Headers {
		hs = append(hs, h.Key+"="+show(h.Value))
	}
	return fmt.Sprintf("key=%s value=%s headers=[%s]", show(r.Key), show(r.Value), strings.Join(hs, " "))
}

func TestLineReaderParse(t *testing.T) {
	def := defaultLineReader()
	withKey := def
	withKey.parseKey = true
	colonKey := withKey
	colonKey.keySep = ":"
	hdrs := def
	hdrs.parseHeaders = true
	hdrsKey := hdrs
	hdrsKey.parseKey, hdrsKey.keySep, hdrsKey.headersDelim = true, "|", ";"
	nulls := hdrsKey
	nulls.nullMarker = "NULL"
	multiSep := withKey
	multiSep.keySep = "::"

	fixed := []kgo.RecordHeader{{Key: "src", Value: []byte("cli")}}
	for _, tc := range []struct {
		name    string
		lr      lineReader
		line    string
		fixed   []kgo.RecordHeader
		want    string
		wantErr string
	}{
		{name: "value only", lr: def, line: "a\tb", want: `key=<nil> value="a\tb" headers=[]`},
		{name: "empty line is an empty value", lr: def, line: "", want: `key=<nil> value="" headers=[]`},
		{name: "key at first tab", lr: withKey, line: "k\tv\tw", want: `key="k" value="v\tw" headers=[]`},
		{name: "empty key", lr: withKey, line: "\tv", want: `key="" value="v" headers=[]`},
		{name: "empty value", lr: colonKey, line: "k:", want: `key="k" value="" headers=[]`},
		{name: "multi-char separator", lr: multiSep, line: "k::v:x", want: `key="k" value="v:x" headers=[]`},
		{name: "missing key separator", lr: colonKey, line: "kv", wantErr: `line 3: no key separator ":" found`},
		{name: "headers then value", lr: hdrs, line: "a:1,b:2\tv", want: `key=<nil> value="v" headers=[a="1" b="2"]`},
		{name: "header value with separator", lr: hdrs, line: "a:1:2\tv", want: `key=<nil> value="v" headers=[a="1:2"]`},
		{name: "repeated header key", lr: hdrs, line: "a:1,a:2\tv", want: `key=<nil> value="v" headers=[a="1" a="2"]`},
		{name: "empty header value", lr: hdrs, line: "a:\tv", want: `key=<nil> value="v" headers=[a=""]`},
		{name: "no headers", lr: hdrs, line: "\tv", want: `key=<nil> value="v" headers=[]`},
		{name: "missing headers delimiter", lr: hdrs, line: "v", wantErr: `line 3: no headers delimiter "\t" found`},
		{name: "header without key separator", lr: hdrs, line: "a\tv", wantErr: `line 3: header "a" has no key separator ":"`},
		{name: "headers key value", lr: hdrsKey, line: "h:x;k|v|w", want: `key="k" value="v|w" headers=[h="x"]`},
		{name: "fixed headers first", lr: hdrsKey, line: "h:x;k|v", fixed: fixed, want: `key="k" value="v" headers=[src="cli" h="x"]`},
		{name: "fixed headers only", lr: def, line: "v", fixed: fixed, want: `key=<nil> value="v" headers=[src="cli"]`},
		{name: "null key and value", lr: nulls, line: ";NULL|NULL", want: `key=<nil> value=<nil> headers=[]`},
		{name: "null header value", lr: nulls, line: "h:NULL;k|v", want: `key="k" value="v" headers=[h=<nil>]`},
		{name: "null headers section", lr: nulls, line: "NULL;k|v", want: `key="k" value="v" headers=[]`},
		{name: "marker inside text is text", lr: nulls, line: ";NULLx|xNULL", want: `key="NULLx" value="xNULL" headers=[]`},
		{name: "null header key", lr: nulls, line: "NULL:x;k|v", wantErr: "header key may not be the null marker"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.lr.validate(); err != nil {
				t.Fatalf("validate: %v", err)
			}
			r, err := tc.lr.parse(3, tc.line, tc.fixed)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("parse(%q) error = %v, want %q", tc.line, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("parse(%q): %v", tc.line, err)
			}
			if got := recString(r); got != tc.want {
				t.Errorf("parse(%q) = %s\nwant %s", tc.line, got, tc.want)
			}
		})
	}

	// The fixed headers must be copied, not shared: appending parsed
	// headers to one record must not show up in the next.
	shared := append(make([]kgo.RecordHeader, 0, 8), fixed...)
	r1, _ := hdrs.parse(1, "a:1\tv", shared)
	r2, _ := hdrs.parse(2, "b:2\tv", shared)
	if got := recString(r1); got != `key=<nil> value="v" headers=[src="cli" a="1"]` {
		t.Errorf("first record changed by the second: %s (second %s)", got, recString(r2))
	}
}

func TestLineReaderValidate(t *testing.T) {
	base := defaultLineReader()
	for _, tc := range []struct {
		name    string
		mod     func(*lineReader)
		wantErr string
	}{
		{name: "defaults", mod: func(*lineReader) {}},
		{name: "defaults with key", mod: func(l *lineReader) { l.parseKey = true }},
		{name: "empty key separator", mod: func(l *lineReader) { l.parseKey, l.keySep = true, "" }, wantErr: "--key-separator must not be empty"},
		{name: "empty key separator unused", mod: func(l *lineReader) { l.keySep = "" }},
		{name: "headers and key share tab", mod: func(l *lineReader) { l.parseKey, l.parseHeaders = true, true },
			wantErr: "--headers-delimiter and --key-separator must differ"},
		{name: "headers only with tab", mod: func(l *lineReader) { l.parseHeaders = true }},
		{name: "same header separators", mod: func(l *lineReader) { l.parseHeaders, l.headersSep = true, ":" },
			wantErr: "--headers-separator and --headers-key-separator must differ"},
		{name: "empty headers delimiter", mod: func(l *lineReader) { l.parseHeaders, l.headersDelim = true, "" },
			wantErr: "--headers-delimiter must not be empty"},
		{name: "null marker equals key separator", mod: func(l *lineReader) { l.parseKey, l.nullMarker = true, "\t" },
			wantErr: "--null-marker must differ from --key-separator"},
		{name: "null marker equals unused separator", mod: func(l *lineReader) { l.nullMarker = "\t" }},
	} {
		lr := base
		tc.mod(&lr)
		err := lr.validate()
		if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("%s: validate() = %v, want %q", tc.name, err, tc.wantErr)
		}
	}
}

func TestParseHeaderFlags(t *testing.T) {
	got, err := parseHeaderFlags([]string{"a=1", "b=", "a=x=y"})
	if err != nil {
		t.Fatal(err)
	}
	r := &kgo.Record{Headers: got, Value: []byte{}}
	if s := recString(r); s != `key=<nil> value="" headers=[a="1" b="" a="x=y"]` {
		t.Errorf("got %s", s)
	}
	if _, err := parseHeaderFlags([]string{"novalue"}); err == nil {
		t.Error("header without = accepted")
	}
}

func TestReadLines(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"", nil},
		{"a\n", []string{"a"}},
		{"a\nb", []string{"a", "b"}},
		{"a\r\nb\r\n", []string{"a", "b"}},
		{"\n\n", []string{"", ""}},
		{"a\rb\n", []string{"a\rb"}},
		{strings.Repeat("x", 200<<10) + "\n", []string{strings.Repeat("x", 200<<10)}},
	} {
		out := make(chan inputLine)
		go readLines(strings.NewReader(tc.in), out, make(chan struct{}))
		var got []string
		for l := range out {
			if l.err != nil {
				t.Fatalf("readLines(%q): %v", tc.in, l.err)
			}
			if l.n != len(got)+1 {
				t.Errorf("line number %d, want %d", l.n, len(got)+1)
			}
			got = append(got, l.text)
		}
		if strings.Join(got, "|") != strings.Join(tc.want, "|") || len(got) != len(tc.want) {
			t.Errorf("readLines(%.20q) = %.40q, want %.40q", tc.in, got, tc.want)
		}
	}
}
