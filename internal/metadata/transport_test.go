package metadata

import (
	"net"
	"testing"
)

func TestAdvertiseAddr(t *testing.T) {
	bound := &net.TCPAddr{IP: net.IPv4zero, Port: 40000}
	cases := []struct{ voter, listen, want string }{
		{"h1:9093", "0.0.0.0:9093", "h1:9093"},       // a voter: its voters entry
		{"", "10.0.0.4:9093", "10.0.0.4:9093"},       // a named host as configured
		{"", "0.0.0.0:9093", "127.0.0.1:9093"},       // a wildcard: loopback
		{"", "127.0.0.1:0", "127.0.0.1:40000"},       // port 0: the bound port
		{"", ":0", "127.0.0.1:40000"},                // both
		{"b4.example:9093", ":0", "b4.example:9093"}, // advertised
	}
	for _, tc := range cases {
		if got := advertiseAddr(tc.voter, tc.listen, bound); got != tc.want {
			t.Errorf("advertiseAddr(%q, %q) = %q, want %q", tc.voter, tc.listen, got, tc.want)
		}
	}
}
