package controller

import (
	"github.com/strata-io/strata/internal/metadata"
)

// Local gives a metadata.Store the Quorum method Store asks for, as a
// quorum of one led by NodeID.
//
// TODO: remove once metadata.Store reports the Raft quorum itself, and
// pass the store directly.
type Local struct {
	*metadata.Store
	NodeID int32
}

// Quorum is a quorum of one.
func (l *Local) Quorum() metadata.QuorumInfo {
	me := metadata.ReplicaInfo{NodeID: l.NodeID, LogEndOffset: l.Image().Offset, LastFetchUnixMs: -1, LastCaughtUpUnixMs: -1}
	return metadata.QuorumInfo{LeaderID: l.LeaderID(), LeaderEpoch: 1, HighWatermark: l.Image().Offset, Voters: []metadata.ReplicaInfo{me}}
}
