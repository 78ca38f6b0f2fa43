package handlers

// DescribeQuorum (key 55), v0–v2 (KIP-595; v1 adds the replicas' fetch
// times, KIP-836; v2 the nodes' listeners and an error message, KIP-853).
// The metadata quorum as its leader (the active controller) sees it, as
// Kafka's one partition __cluster_metadata-0: leader, term (as the leader
// epoch), and each voter's and observer's log end; offsets are Raft log
// indexes. A broker that is not the leader forwards the question to it.
// Any other topic or partition is UNKNOWN_TOPIC_OR_PARTITION. Directory
// ids (v2) are not tracked and stay zero.

import (
	"context"
	"net"
	"strconv"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/strata-io/strata/internal/metadata"
)

func init() {
	register(API{Key: 55, MinVersion: 0, MaxVersion: 2, Handle: describeQuorum})
}

// metadataTopic is the name Kafka gives the metadata log.
const metadataTopic = "__cluster_metadata"

func describeQuorum(ctx context.Context, env *Env, req *Request) (kmsg.Response, error) {
	r := req.Body.(*kmsg.DescribeQuorumRequest)
	resp := r.ResponseKind().(*kmsg.DescribeQuorumResponse)
	var (
		q      metadata.QuorumInfo
		qerr   error
		needed = true
	)
	for _, rt := range r.Topics {
		st := kmsg.NewDescribeQuorumResponseTopic()
		st.Topic = rt.Topic
		for _, rp := range rt.Partitions {
			sp := kmsg.NewDescribeQuorumResponseTopicPartition()
			sp.Partition = rp.Partition
			if rt.Topic != metadataTopic || rp.Partition != 0 {
				sp.ErrorCode = kerr.UnknownTopicOrPartition.Code
				st.Partitions = append(st.Partitions, sp)
				continue
			}
			if needed {
				needed = false
				cctx, cancel := withAdminTimeout(ctx, 0)
				q, qerr = env.Controller.DescribeQuorum(cctx)
				cancel()
			}
			if qerr != nil {
				// Retriable: the quorum has no leader this node can reach.
				sp.ErrorCode = kerr.NotLeaderForPartition.Code
				if req.Version >= 2 {
					sp.ErrorMessage = errorMessage(qerr)
				}
				st.Partitions = append(st.Partitions, sp)
				continue
			}
			sp.LeaderID = q.LeaderID
			sp.LeaderEpoch = q.LeaderEpoch
			sp.HighWatermark = q.HighWatermark
			sp.CurrentVoters = replicaStates(q.Voters)
			sp.Observers = replicaStates(q.Observers)
			st.Partitions = append(st.Partitions, sp)
			if req.Version >= 2 {
				resp.Nodes = quorumNodes(q)
			}
		}
		resp.Topics = append(resp.Topics, st)
	}
	return resp, nil
}

func replicaStates(rs []metadata.ReplicaInfo) []kmsg.DescribeQuorumResponseTopicPartitionReplicaState {
	out := make([]kmsg.DescribeQuorumResponseTopicPartitionReplicaState, 0, len(rs))
	for _, r := range rs {
		s := kmsg.NewDescribeQuorumResponseTopicPartitionReplicaState()
		s.ReplicaID = r.NodeID
		s.LogEndOffset = r.LogEndOffset
		s.LastFetchTimestamp = r.LastFetchUnixMs
		s.LastCaughtUpTimestamp = r.LastCaughtUpUnixMs
		out = append(out, s)
	}
	return out
}

// quorumNodes lists each quorum member's controller listener (v2).
func quorumNodes(q metadata.QuorumInfo) []kmsg.DescribeQuorumResponseNode {
	var out []kmsg.DescribeQuorumResponseNode
	for _, r := range append(append([]metadata.ReplicaInfo(nil), q.Voters...), q.Observers...) {
		n := kmsg.NewDescribeQuorumResponseNode()
		n.NodeID = r.NodeID
		if host, port, err := net.SplitHostPort(r.Addr); err == nil {
			if p, err := strconv.ParseUint(port, 10, 16); err == nil {
				l := kmsg.NewDescribeQuorumResponseNodeListener()
				l.Name = "CONTROLLER"
				l.Host = host
				l.Port = uint16(p)
				n.Listeners = append(n.Listeners, l)
			}
		}
		out = append(out, n)
	}
	return out
}
