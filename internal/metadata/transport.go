package metadata

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/hashicorp/raft"
)

// openTransport returns the Raft transport: in memory for a lone voter
// with no controller listener.
func (s *Store) openTransport() (raft.Transport, error) {
	if s.opts.ControllerListen == "" && s.opts.ControllerListener == nil {
		if !s.lone {
			return nil, fmt.Errorf("metadata: node %d needs a controller listener to be part of a quorum", s.opts.NodeID)
		}
		_, t := raft.NewInmemTransport(raft.ServerAddress(fmt.Sprintf("inmem-%d", s.opts.NodeID)))
		return t, nil
	}
	return nil, fmt.Errorf("metadata: controller listener not implemented yet")
}

func (s *Store) startRPC()  {}
func (s *Store) startJoin() {}

func (s *Store) callRemote(ctx context.Context, method string, body json.RawMessage) (json.RawMessage, error) {
	return nil, errNotLeader
}
