package server_test

import (
	"bufio"
	"context"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/strata-io/strata/internal/brokertest"
)

// rawConn is a bare TCP connection for sending hand-made frames.
type rawConn struct {
	t  *testing.T
	nc net.Conn
	r  *bufio.Reader
}

func dial(t *testing.T, addr string) *rawConn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	_ = nc.SetDeadline(time.Now().Add(10 * time.Second))
	return &rawConn{t: t, nc: nc, r: bufio.NewReader(nc)}
}

func (c *rawConn) send(b []byte) {
	c.t.Helper()
	if _, err := c.nc.Write(b); err != nil {
		c.t.Fatal(err)
	}
}

// readResponse reads one response frame and returns it without the size.
func (c *rawConn) readResponse() ([]byte, error) {
	var size [4]byte
	if _, err := io.ReadFull(c.r, size[:]); err != nil {
		return nil, err
	}
	buf := make([]byte, binary.BigEndian.Uint32(size[:]))
	_, err := io.ReadFull(c.r, buf)
	return buf, err
}

// expectClosed asserts that the broker closed the connection.
func (c *rawConn) expectClosed() {
	c.t.Helper()
	if b, err := c.readResponse(); err == nil {
		c.t.Fatalf("connection still open; got a %d-byte response", len(b))
	}
}

func frame(body []byte) []byte {
	return binary.BigEndian.AppendUint32(nil, uint32(len(body))) // size prefix
}

// brokerStillServes checks, with a real client on a new connection, that
// the broker is unaffected.
func brokerStillServes(t *testing.T, addr string) {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := kmsg.NewPtrMetadataRequest().RequestWith(ctx, cl); err != nil {
		t.Fatalf("broker stopped serving after bad input: %v", err)
	}
}

func TestBadFrames(t *testing.T) {
	addr := brokertest.Start(t, map[string]string{"socket.request.max.bytes": "1048576"})
	// A Metadata v1 header followed by a topic array claiming 1e9 entries.
	hugeArray := []byte{0, 3, 0, 1, 0, 0, 0, 9, 0xff, 0xff, 0x3b, 0x9a, 0xca, 0x00}
	cases := []struct {
		name  string
		bytes []byte
	}{
		{"size too small", []byte{0, 0, 0, 2, 0, 3}},
		{"negative size", []byte{0xff, 0xff, 0xff, 0xfe}},
		{"larger than socket.request.max.bytes", binary.BigEndian.AppendUint32(nil, 1048577)},
		{"unknown api key", append(frame(make([]byte, 12)), append([]byte{0x7f, 0x00, 0, 0, 0, 0, 0, 1, 0xff, 0xff}, 0, 0)...)},
		{"unsupported produce version 0", append(frame(make([]byte, 10)), []byte{0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff}...)},
		{"truncated header", append(frame(make([]byte, 11)), []byte{0, 3, 0, 1, 0, 0, 0, 1, 0, 9, 'x'}...)},
		{"array longer than the frame", append(frame(hugeArray), hugeArray...)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := dial(t, addr)
			c.send(tc.bytes)
			c.expectClosed()
			brokerStillServes(t, addr)
		})
	}
}

func TestAPIVersionsFallbackForUnknownVersion(t *testing.T) {
	addr := brokertest.Start(t, nil)
	c := dial(t, addr)
	// ApiVersions v99, header v2 (flexible): key, version, correlation id,
	// client id, empty tag buffer.
	body := []byte{0, 18, 0, 99, 0, 0, 0, 42, 0, 1, 'x', 0}
	c.send(append(frame(body), body...))
	resp, err := c.readResponse()
	if err != nil {
		t.Fatal(err)
	}
	if cid := int32(binary.BigEndian.Uint32(resp)); cid != 42 {
		t.Fatalf("correlation id %d, want 42", cid)
	}
	av := kmsg.NewPtrApiVersionsResponse()
	av.Version = 0
	if err := av.ReadFrom(resp[4:]); err != nil {
		t.Fatal(err)
	}
	if av.ErrorCode != kerr.UnsupportedVersion.Code {
		t.Fatalf("error code %d, want UNSUPPORTED_VERSION", av.ErrorCode)
	}
	found := false
	for _, k := range av.ApiKeys {
		if k.ApiKey == 18 && k.MinVersion == 0 && k.MaxVersion == 3 {
			found = true
		}
	}
	if !found {
		t.Fatalf("ApiVersions v0-3 not advertised in fallback: %+v", av.ApiKeys)
	}
}

func TestAdvertisedVersionsDecode(t *testing.T) {
	// Every advertised version of every API must be decodable by kmsg:
	// advertising a version kmsg cannot parse would break clients.
	addr := brokertest.Start(t, nil)
	cl, err := kgo.NewClient(kgo.SeedBrokers(addr))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	resp, err := kmsg.NewPtrApiVersionsRequest().RequestWith(context.Background(), cl)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.ApiKeys) < 10 {
		t.Fatalf("only %d APIs advertised", len(resp.ApiKeys))
	}
	for _, k := range resp.ApiKeys {
		req := kmsg.RequestForKey(k.ApiKey)
		if req == nil || k.MaxVersion > req.MaxVersion() || k.MinVersion > k.MaxVersion {
			t.Errorf("api %d advertised %d-%d beyond what kmsg knows", k.ApiKey, k.MinVersion, k.MaxVersion)
		}
	}
	// Transactions and SASL are not implemented: never advertised.
	for _, k := range resp.ApiKeys {
		switch k.ApiKey {
		case 24, 25, 26, 28, 17, 36:
			t.Errorf("api %d is advertised but not implemented", k.ApiKey)
		}
	}
	// The classic group APIs are, with these version ranges.
	want := map[int16][2]int16{
		8: {0, 9}, 9: {0, 9}, 10: {0, 5}, 11: {0, 9}, 12: {0, 4}, 13: {0, 5},
		14: {0, 5}, 15: {0, 6}, 16: {0, 5}, 42: {0, 2}, 47: {0, 0},
	}
	for _, k := range resp.ApiKeys {
		if w, ok := want[k.ApiKey]; ok {
			if k.MinVersion != w[0] || k.MaxVersion != w[1] {
				t.Errorf("%s advertised v%d-v%d, want v%d-v%d", kmsg.NameForKey(k.ApiKey), k.MinVersion, k.MaxVersion, w[0], w[1])
			}
			delete(want, k.ApiKey)
		}
	}
	for key := range want {
		t.Errorf("%s is not advertised", kmsg.NameForKey(key))
	}
}
