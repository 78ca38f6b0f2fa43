package metadata

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/raft"
)

// transport.go: the controller listener. One TCP port carries both the
// Raft traffic between quorum members and the controller RPC (JSON); the
// first byte a client sends on a new connection says which.

const (
	connRaft byte = 'R'
	connRPC  byte = 'C'
)

const (
	// prefixTimeout bounds the wait for a new connection's first byte.
	prefixTimeout = 10 * time.Second
	// raftPool and raftTimeout are the library's connection pool size
	// per peer and I/O timeout.
	raftPool    = 3
	raftTimeout = 10 * time.Second
	// dialRetry is the pause between connection attempts to a peer that
	// refuses them (see raftLayer.Dial).
	dialRetry = 50 * time.Millisecond
)

// openTransport returns the Raft transport: in memory for a lone voter
// with no controller listener, else the controller listener's mux.
func (s *Store) openTransport() (raft.Transport, error) {
	ln := s.opts.ControllerListener
	if ln == nil && s.opts.ControllerListen == "" {
		if !s.lone {
			return nil, fmt.Errorf("metadata: node %d needs a controller listener to be part of a quorum", s.opts.NodeID)
		}
		_, t := raft.NewInmemTransport(raft.ServerAddress(fmt.Sprintf("inmem-%d", s.opts.NodeID)))
		return t, nil
	}
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", s.opts.ControllerListen); err != nil {
			return nil, fmt.Errorf("metadata: controller listener: %w", err)
		}
	}
	m := &mux{
		s:         s,
		ln:        ln,
		advertise: advertiseAddr(cmp.Or(s.voters[s.opts.NodeID], s.opts.ControllerAdvertised), s.opts.ControllerListen, ln.Addr()),
		raftConns: make(chan net.Conn),
		done:      make(chan struct{}),
		conns:     map[net.Conn]struct{}{},
	}
	s.closeMux = m.close
	s.mux = m
	s.wg.Add(1)
	go m.acceptLoop()
	return raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream:  &raftLayer{m: m},
		MaxPool: raftPool,
		Timeout: raftTimeout,
		// NB: no pipelining (1 = every AppendEntries waits for its
		// answer). The library's pipeline can deadlock a deposed
		// leader: its decoder stops at a reply from a newer term while
		// the sender still blocks handing the next request to it, and
		// nothing but the pipeline's Close (which that sender would
		// run) wakes it, so raft.Shutdown waits forever. A broker
		// stopping under load hung like that in Close. The metadata log
		// is small and batched; synchronous sends cost nothing seen.
		MaxRPCsInFlight: 1,
		Logger:          newHclog(s.log),
	}), nil
}

// advertiseAddr is the address other members dial: the voters list's
// entry for this node if it is a voter, else the advertised one, else the
// configured listen address with a wildcard host or port 0 filled in
// from the bound one.
func advertiseAddr(voterAddr, listen string, bound net.Addr) string {
	if voterAddr != "" {
		return voterAddr
	}
	b, _ := bound.(*net.TCPAddr)
	host, port, err := net.SplitHostPort(listen)
	if err != nil || b == nil {
		return bound.String()
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	if port == "" || port == "0" {
		port = fmt.Sprint(b.Port)
	}
	return net.JoinHostPort(host, port)
}

// mux accepts connections on the controller listener and hands each to
// Raft or to the RPC server by its first byte.
type mux struct {
	s         *Store
	ln        net.Listener
	advertise string
	raftConns chan net.Conn
	done      chan struct{} // closed by close

	mu    sync.Mutex
	conns map[net.Conn]struct{} // accepted connections, closed by close
}

func (m *mux) acceptLoop() {
	defer m.s.wg.Done()
	for {
		c, err := m.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			select {
			case <-m.done:
				return
			case <-time.After(10 * time.Millisecond): // e.g. EMFILE: don't spin
			}
			continue
		}
		if !m.track(c) {
			c.Close()
			return
		}
		m.s.wg.Add(1)
		go func() {
			defer m.s.wg.Done()
			m.dispatch(c)
		}()
	}
}

// track records an accepted connection so close can cut it; false once
// the mux is closed.
func (m *mux) track(c net.Conn) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.conns == nil {
		return false
	}
	m.conns[c] = struct{}{}
	return true
}

func (m *mux) untrack(c net.Conn) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.conns, c)
}

func (m *mux) dispatch(c net.Conn) {
	_ = c.SetReadDeadline(time.Now().Add(prefixTimeout))
	var b [1]byte
	if _, err := io.ReadFull(c, b[:]); err != nil {
		m.untrack(c)
		c.Close()
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	switch b[0] {
	case connRaft:
		select {
		case m.raftConns <- &trackedConn{Conn: c, m: m}:
		case <-m.done:
			m.untrack(c)
			c.Close()
		}
	case connRPC:
		m.s.serveRPCConn(c)
		m.untrack(c)
		c.Close()
	default:
		m.s.log.Warn("metadata: closing a controller connection with an unknown first byte", "remote", c.RemoteAddr().String(), "byte", b[0])
		m.untrack(c)
		c.Close()
	}
}

// close stops accepting and cuts every accepted connection, so peers
// notice at once that this node is gone.
func (m *mux) close() error {
	m.mu.Lock()
	conns := m.conns
	m.conns = nil
	m.mu.Unlock()
	if conns == nil {
		return nil
	}
	close(m.done)
	err := m.ln.Close()
	for c := range conns {
		c.Close()
	}
	return err
}

// trackedConn forgets itself in the mux when Raft closes it.
type trackedConn struct {
	net.Conn
	m    *mux
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() { c.m.untrack(c.Conn) })
	return c.Conn.Close()
}

// raftLayer is the mux's Raft side, a raft.StreamLayer.
type raftLayer struct{ m *mux }

func (l *raftLayer) Accept() (net.Conn, error) {
	select {
	case c := <-l.m.raftConns:
		return c, nil
	case <-l.m.done:
		return nil, net.ErrClosed
	}
}

// Close is the transport's; the listener is the Store's to close.
func (l *raftLayer) Close() error { return nil }

func (l *raftLayer) Addr() net.Addr { return advertisedAddr(l.m.advertise) }

// Dial connects to a peer. A refused connection (the peer is down) is
// retried every dialRetry until timeout instead of failing at once.
//
// NB: the library backs off exponentially on failed AppendEntries, up to
// ~10 s between tries, and nothing wakes it early: with instant failures a
// peer down for a few seconds would, once restarted, wait up to 10 s for
// the leader to send it the log it missed. With dials that wait for the
// peer, failures are rare (one per timeout) and a restarted peer is
// reached within dialRetry.
func (l *raftLayer) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(l.m.s.dialCtx, timeout)
	defer cancel()
	var d net.Dialer
	var c net.Conn
	var err error
	for {
		if c, err = d.DialContext(ctx, "tcp", string(addr)); err == nil {
			break
		}
		if !errors.Is(err, syscall.ECONNREFUSED) {
			return nil, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(dialRetry):
		}
	}
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetNoDelay(true)
	}
	if _, err := c.Write([]byte{connRaft}); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// advertisedAddr is a net.Addr whose String is the advertised address
// (the Raft transport names this node by it).
type advertisedAddr string

func (a advertisedAddr) Network() string { return "tcp" }
func (a advertisedAddr) String() string  { return string(a) }
