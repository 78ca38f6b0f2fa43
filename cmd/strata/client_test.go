package main

import (
	"strings"
	"testing"
)

func TestParseBootstrap(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    string
		wantErr string
	}{
		{in: "127.0.0.1:9092", want: "127.0.0.1:9092"},
		{in: "a:1, b:2,,", want: "a:1 b:2"},
		{in: "[::1]:9092", want: "[::1]:9092"},
		{in: "", wantErr: "no broker address"},
		{in: " , ", wantErr: "no broker address"},
		{in: "localhost", wantErr: "not host:port"},
		{in: ":9092", wantErr: "not host:port"},
		{in: "host:", wantErr: "not host:port"},
	} {
		got, err := parseBootstrap(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("parseBootstrap(%q) error = %v, want %q", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || strings.Join(got, " ") != tc.want {
			t.Errorf("parseBootstrap(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}
