package server

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/strata-io/strata/internal/config"
	"github.com/strata-io/strata/internal/handlers"
)

// conn serves one client connection. Like Kafka, it handles one request at
// a time, in arrival order, so responses leave in order without a
// reordering buffer; concurrency comes from connections (clients open
// separate ones for produce and fetch). Requests already in the socket
// buffer are read while earlier responses are still buffered, and the
// writer is flushed only when no further request is waiting, so pipelined
// requests share write syscalls.
type conn struct {
	b   *Broker
	nc  net.Conn
	log *slog.Logger
	r   *bufio.Reader
	w   *bufio.Writer
	out []byte // response encoding buffer, reused
	// splices are the record sets of the fetch response being written.
	splices []splice
	// clientHost is the peer's address as Kafka shows it ("/127.0.0.1").
	clientHost string
}

func (b *Broker) serveConn(ctx context.Context, nc net.Conn) {
	c := &conn{
		b:   b,
		nc:  nc,
		log: b.log.With("remote", nc.RemoteAddr().String()),
		r:   bufio.NewReaderSize(nc, 64<<10),
		w:   bufio.NewWriterSize(nc, 64<<10),
	}
	if host, _, err := net.SplitHostPort(nc.RemoteAddr().String()); err == nil {
		c.clientHost = "/" + host
	}
	defer nc.Close()
	switch err := c.serve(ctx); {
	case err == nil, isClosedErr(err):
	case errors.Is(err, handlers.ErrCloseConnection):
		c.log.Debug("closing connection", "reason", err)
	default:
		c.log.Warn("closing connection", "err", err)
	}
}

// isClosedErr reports a connection the client ended: closed, or hung up
// while a response was being written (EPIPE, ECONNRESET), e.g. a consumer
// that disconnects during a long-polling fetch. That is routine, not a
// broker problem worth a warning.
func isClosedErr(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET)
}

func (c *conn) serve(ctx context.Context) error {
	var (
		sizeBuf  [4]byte
		cfgSeen  *config.Broker // the config the two limits below were read from
		idle     time.Duration  // connections.max.idle.ms; 0: none
		maxFrame int32          // socket.request.max.bytes
		armed    time.Time      // when the read deadline was last moved
	)
	for {
		// NB: per request, only a pointer compare: parsing the limits and
		// moving the deadline (a runtime timer update) cost a visible
		// share of a small request's CPU.
		if cfg := c.b.cfg.Load(); cfg != cfgSeen {
			cfgSeen = cfg
			idle = time.Duration(cfg.Int("connections.max.idle.ms")) * time.Millisecond
			maxFrame = int32(cfg.Int("socket.request.max.bytes"))
			armed = time.Time{}
		}
		if idle > 0 {
			// The deadline moves at most every idle/16, so a connection
			// is closed after between 15/16 and all of idle without a
			// request; Kafka's idle check is no more exact.
			if now := time.Now(); now.Sub(armed) >= idle/16 {
				armed = now
				_ = c.nc.SetReadDeadline(now.Add(idle))
			}
		} else if !armed.IsZero() {
			armed = time.Time{}
			_ = c.nc.SetReadDeadline(time.Time{})
		}
		frame, err := readFrame(c.r, sizeBuf[:], maxFrame)
		if err != nil {
			return err
		}
		err = c.handle(ctx, frame)
		if reusableFrame(frame) {
			releaseFrame(frame)
		}
		if err != nil {
			return err
		}
		if c.r.Buffered() == 0 {
			if err := c.w.Flush(); err != nil {
				return err
			}
		}
	}
}

// reusableFrame reports whether nothing refers to frame once its request
// has been handled, so that its buffer can be reused. Produce writes the
// record sets to the log (a copy) and keeps no slice of the request;
// Fetch requests hold no byte fields. Other APIs may keep decoded byte
// fields that alias the frame (e.g. a group member's protocol metadata),
// so their frames are left to the GC.
func reusableFrame(frame []byte) bool {
	if len(frame) < 2 {
		return false
	}
	key := int16(binary.BigEndian.Uint16(frame))
	return key == 0 || key == 1
}

// handle decodes, dispatches and answers one request. An error closes the
// connection: the frame was malformed, named an unknown API or version, or
// the handler failed.
func (c *conn) handle(ctx context.Context, frame []byte) (err error) {
	hdr, body, err := parseHeader(frame)
	if err != nil {
		return err
	}
	defer func() {
		if p := recover(); p != nil {
			// A bug must cost one connection, never the broker.
			c.log.Error("handler panic", "api_key", hdr.key, "version", hdr.version, "panic", p, "stack", string(debug.Stack()))
			err = fmt.Errorf("internal error handling api key %d", hdr.key)
		}
	}()
	api, req, err := decodeRequest(hdr, body)
	if errors.Is(err, errAPIVersionsFallback) {
		return c.apiVersionsFallback(hdr)
	}
	if err != nil {
		return fmt.Errorf("%w (client %q)", err, hdr.clientID)
	}
	resp, err := api.Handle(ctx, c.b.env, &handlers.Request{
		Key: hdr.key, Version: hdr.version, CorrelationID: hdr.correlationID, ClientID: hdr.clientID, ClientHost: c.clientHost, Body: req,
	})
	if err != nil {
		return fmt.Errorf("api key %d v%d: %w", hdr.key, hdr.version, err)
	}
	if resp == nil { // acks=0 produce: no response
		return nil
	}
	resp.SetVersion(hdr.version)
	if fr, ok := resp.(*handlers.FetchResponse); ok {
		return c.writeFetch(hdr, fr)
	}
	return c.write(hdr, resp)
}

func (c *conn) write(hdr requestHeader, resp kmsg.Response) error {
	c.out = appendResponse(c.out[:0], hdr.correlationID, hdr.key, resp)
	_, err := c.w.Write(c.out)
	if cap(c.out) > 1<<20 {
		c.out = nil // don't pin a large fetch's buffer to an idle connection
	}
	return err
}

// apiVersionsFallback answers an ApiVersions request of a version we do
// not know: a v0 response with UNSUPPORTED_VERSION and our API list, so
// the client can retry with a version we support (KIP-511).
func (c *conn) apiVersionsFallback(hdr requestHeader) error {
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.Version = 0
	resp.ErrorCode = kerr.UnsupportedVersion.Code
	resp.ApiKeys = handlers.APIVersionList(c.b.env)
	hdr.version = 0
	return c.write(hdr, resp)
}

// errAPIVersionsFallback marks an ApiVersions request of a version newer
// than ours: it is answered, not refused (KIP-511).
var errAPIVersionsFallback = errors.New("ApiVersions version too new")

// decodeRequest finds the API for hdr and decodes the body with kmsg. It
// is the whole path from untrusted bytes to a request value, and what the
// request fuzz target drives.
func decodeRequest(hdr requestHeader, body []byte) (handlers.API, kmsg.Request, error) {
	api, ok := handlers.Lookup(hdr.key)
	if !ok {
		return api, nil, fmt.Errorf("%w: unknown or unsupported api key %d", errFrame, hdr.key)
	}
	if hdr.version < api.MinVersion || hdr.version > api.MaxVersion {
		if hdr.key == 18 && hdr.version > api.MaxVersion {
			return api, nil, errAPIVersionsFallback
		}
		return api, nil, fmt.Errorf("%w: unsupported version %d of api key %d (supported %d-%d)", errFrame, hdr.version, hdr.key, api.MinVersion, api.MaxVersion)
	}
	req := kmsg.RequestForKey(hdr.key)
	req.SetVersion(hdr.version)
	if req.IsFlexible() {
		var err error
		if body, err = skipHeaderTags(body); err != nil {
			return api, nil, err
		}
	}
	if err := req.ReadFrom(body); err != nil {
		return api, nil, fmt.Errorf("%w: api key %d v%d body: %v", errFrame, hdr.key, hdr.version, err)
	}
	return api, req, nil
}
