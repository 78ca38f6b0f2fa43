package clienttest

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// TestEveryAdvertisedVersionAnswers sends, for every API and version the
// broker advertises in ApiVersions, a minimal request (kmsg's defaults: no
// topics, no groups) on a fresh connection, and requires a well-formed
// response of that version with the right correlation ID. DESIGN §6: never
// advertise a version that is not implemented; a client that picks the
// highest advertised version must get an answer, not a closed connection.
//
// The one exception, as in Kafka 4.0 (KAFKA-18659): Produce v0-v2 are
// advertised so that librdkafka < 2.10 enables compression, but refused
// by closing the connection (no client picks them: each uses the highest
// common version).
func TestEveryAdvertisedVersionAnswers(t *testing.T) {
	t.Parallel()
	addr := startBroker(t, nil)
	cl := newKgo(t, addr)
	av, err := kmsg.NewPtrApiVersionsRequest().RequestWith(testCtx(t), cl)
	if err != nil || av.ErrorCode != 0 {
		t.Fatalf("ApiVersions: %v, error code %d", err, av.ErrorCode)
	}
	if len(av.ApiKeys) == 0 {
		t.Fatal("ApiVersions advertises no APIs")
	}
	sent := 0
	var list []string
	for _, k := range av.ApiKeys {
		list = append(list, fmt.Sprintf("%s %d-%d", kmsg.NameForKey(k.ApiKey), k.MinVersion, k.MaxVersion))
	}
	defer func() {
		t.Logf("%d APIs advertised (%s); %d (API, version) pairs answered", len(av.ApiKeys), strings.Join(list, ", "), sent)
	}()
	for _, k := range av.ApiKeys {
		if k.MinVersion > k.MaxVersion || k.MinVersion < 0 {
			t.Errorf("API %d: advertised versions %d..%d", k.ApiKey, k.MinVersion, k.MaxVersion)
			continue
		}
		if kmsg.RequestForKey(k.ApiKey) == nil {
			t.Errorf("API %d (advertised %d..%d) is unknown to kmsg", k.ApiKey, k.MinVersion, k.MaxVersion)
			continue
		}
		if max := kmsg.RequestForKey(k.ApiKey).MaxVersion(); k.MaxVersion > max {
			t.Errorf("%s: advertised up to v%d, beyond the newest version Kafka defines that kmsg knows (v%d)", kmsg.NameForKey(k.ApiKey), k.MaxVersion, max)
		}
		switch k.ApiKey {
		case 17, 36: // SaslHandshake, SaslAuthenticate: a broker may rightly hang up on a bare one
			continue
		}
		for v := k.MinVersion; v <= min(k.MaxVersion, kmsg.RequestForKey(k.ApiKey).MaxVersion()); v++ {
			sent++
			if k.ApiKey == 0 && v < 3 {
				if err := roundTripRaw(addr, k.ApiKey, v); err == nil {
					t.Errorf("Produce v%d (message format 0/1) was answered; it must be refused", v)
				}
				continue
			}
			if err := roundTripRaw(addr, k.ApiKey, v); err != nil {
				t.Errorf("%s v%d (advertised %d..%d): %v", kmsg.NameForKey(k.ApiKey), v, k.MinVersion, k.MaxVersion, err)
			}
		}
	}
}

// roundTripRaw sends one default request of key at version v on a new
// connection and decodes the response.
func roundTripRaw(addr string, key, v int16) error {
	req := kmsg.RequestForKey(key)
	req.SetVersion(v)
	switch r := req.(type) {
	case *kmsg.ProduceRequest:
		r.Acks = -1 // acks=0 has no response to wait for
		r.TimeoutMillis = 1000
	case *kmsg.FetchRequest:
		r.ReplicaID = -1
		r.MaxWaitMillis = 0
		r.SessionEpoch = -1
	}
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	const corr = 0x5eed
	if _, err := conn.Write(kmsg.NewRequestFormatter(kmsg.FormatterClientID("strata-clienttest")).AppendRequest(nil, req, corr)); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	r := bufio.NewReader(conn)
	var size int32
	if err := binary.Read(r, binary.BigEndian, &size); err != nil {
		return fmt.Errorf("no response (connection closed?): %w", err)
	}
	if size < 4 || size > 64<<20 {
		return fmt.Errorf("response size %d", size)
	}
	body := make([]byte, size)
	if _, err := io.ReadFull(r, body); err != nil {
		return fmt.Errorf("short response: %w", err)
	}
	if got := int32(binary.BigEndian.Uint32(body)); got != corr {
		return fmt.Errorf("correlation ID %d, want %d", got, corr)
	}
	body = body[4:]
	resp := req.ResponseKind()
	resp.SetVersion(v)
	// Flexible responses carry a tagged-field section in their header,
	// except ApiVersions (KIP-511).
	if resp.IsFlexible() && key != 18 {
		n, rest, err := uvarint(body)
		if err != nil {
			return fmt.Errorf("response header tags: %w", err)
		}
		for range n {
			var l uint64
			if _, rest, err = uvarint(rest); err == nil {
				l, rest, err = uvarint(rest)
			}
			if err != nil || uint64(len(rest)) < l {
				return fmt.Errorf("response header tag: %v", err)
			}
			rest = rest[l:]
		}
		body = rest
	}
	if err := resp.ReadFrom(body); err != nil {
		return fmt.Errorf("decode v%d response (%d bytes): %w", v, len(body), err)
	}
	return nil
}

func uvarint(b []byte) (uint64, []byte, error) {
	v, n := binary.Uvarint(b)
	if n <= 0 {
		return 0, nil, fmt.Errorf("bad uvarint")
	}
	return v, b[n:], nil
}
