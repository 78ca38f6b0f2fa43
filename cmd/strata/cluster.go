package main

// cluster.go is `strata cluster status`: the brokers (alive or fenced),
// the active controller and the metadata quorum, as
// kafka-metadata-quorum.sh describe --status/--replication and
// kafka-broker-api-versions.sh show them, over DescribeCluster (v2 lists
// fenced brokers, KIP-1073), Metadata and DescribeQuorum (KIP-595/836).
// `strata cluster dev` (a local cluster) is in cluster_dev.go.

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// metadataTopic is the Raft log's name in DescribeQuorum, as in KRaft.
const metadataTopic = "__cluster_metadata"

func newClusterCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "Show a cluster's brokers and quorum, or run a local cluster for development",
	}
	cmd.AddCommand(newClusterStatusCmd(), newClusterDevCmd())
	return cmd
}

// clusterBroker is one row of the brokers table.
type clusterBroker struct {
	id     int32
	addr   string
	rack   string
	fenced bool
}

// clusterStatus is what `cluster status` prints.
type clusterStatus struct {
	clusterID    string
	controllerID int32
	brokers      []clusterBroker // by node id
	fencedKnown  bool            // DescribeCluster v2+ answered: fenced brokers are listed
	quorum       *kmsg.DescribeQuorumResponseTopicPartition
	quorumErr    error
	now          time.Time
}

func newClusterStatusCmd() *cobra.Command {
	cf := &clientFlags{}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show brokers (alive/fenced), the active controller and the metadata quorum",
		Long: `Show the cluster: its id, the active controller, every registered broker
and whether it is alive or fenced (a broker the controller stopped hearing
from; it leads nothing and is in no ISR), and the metadata quorum: its
leader, epoch (Raft term) and high watermark, and per voter and observer its
log end offset, its lag behind the high watermark and when it last fetched
and was last caught up (as kafka-metadata-quorum.sh describe --status
--replication prints them).`,
		Example: `  strata cluster status --bootstrap-server 127.0.0.1:9092`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := cf.validate(); err != nil {
				return err
			}
			cl, err := cf.newClient()
			if err != nil {
				return err
			}
			defer cl.Close()
			ctx, cancel := cf.callCtx(cmd.Context())
			defer cancel()
			st, err := fetchClusterStatus(ctx, cl)
			if err != nil {
				return cf.clusterErr(err)
			}
			return writeClusterStatus(cmd.OutOrStdout(), st)
		},
	}
	cf.register(cmd.Flags())
	return cmd
}

// fetchClusterStatus asks for the brokers (DescribeCluster, or Metadata
// from a cluster without it) and the quorum (DescribeQuorum, answered by
// the active controller; kgo routes it there).
func fetchClusterStatus(ctx context.Context, cl *kgo.Client) (clusterStatus, error) {
	st := clusterStatus{controllerID: -1, now: time.Now()}
	dc := kmsg.NewPtrDescribeClusterRequest()
	dc.IncludeFencedBrokers = true
	dresp, err := dc.RequestWith(ctx, cl)
	if err == nil {
		err = kerr.ErrorForCode(dresp.ErrorCode)
	}
	switch {
	case err == nil:
		st.clusterID, st.controllerID = dresp.ClusterID, dresp.ControllerID
		st.fencedKnown = dresp.Version >= 2
		for _, b := range dresp.Brokers {
			st.brokers = append(st.brokers, clusterBroker{
				id: b.NodeID, addr: hostPort(b.Host, b.Port), rack: derefOr(b.Rack, ""), fenced: b.IsFenced,
			})
		}
	case ctx.Err() != nil:
		return st, ctx.Err()
	default:
		// A cluster without DescribeCluster (or refusing it): Metadata
		// names the controller and the live brokers too.
		md, err := kadm.NewClient(cl).BrokerMetadata(ctx)
		if err != nil {
			return st, err
		}
		st.clusterID, st.controllerID = md.Cluster, md.Controller
		for _, b := range md.Brokers {
			st.brokers = append(st.brokers, clusterBroker{id: b.NodeID, addr: hostPort(b.Host, b.Port), rack: derefOr(b.Rack, "")})
		}
	}
	slices.SortFunc(st.brokers, func(a, b clusterBroker) int { return int(a.id - b.id) })

	dq := kmsg.NewPtrDescribeQuorumRequest()
	t := kmsg.NewDescribeQuorumRequestTopic()
	t.Topic = metadataTopic
	p := kmsg.NewDescribeQuorumRequestTopicPartition()
	t.Partitions = append(t.Partitions, p)
	dq.Topics = append(dq.Topics, t)
	qresp, err := dq.RequestWith(ctx, cl)
	if err == nil {
		err = kerr.ErrorForCode(qresp.ErrorCode)
	}
	if err == nil {
		for _, t := range qresp.Topics {
			for i := range t.Partitions {
				if t.Topic == metadataTopic && t.Partitions[i].Partition == 0 {
					st.quorum = &t.Partitions[i]
				}
			}
		}
		switch {
		case st.quorum == nil:
			err = errors.New("the answer did not mention " + metadataTopic)
		case st.quorum.ErrorCode != 0:
			err = errors.New(kafkaErr(kerr.ErrorForCode(st.quorum.ErrorCode), derefOr(st.quorum.ErrorMessage, "")))
			st.quorum = nil
		}
	}
	if err != nil {
		if ctx.Err() != nil {
			return st, ctx.Err()
		}
		if isUnsupported(err) {
			err = errors.New("the cluster does not support DescribeQuorum")
		}
		st.quorumErr = err
	}
	return st, nil
}

func writeClusterStatus(w io.Writer, st clusterStatus) error {
	fmt.Fprintf(w, "ClusterId:\t%s\n", orDash(st.clusterID))
	ctrl := "none"
	if st.controllerID >= 0 {
		ctrl = strconv.Itoa(int(st.controllerID))
	}
	fmt.Fprintf(w, "Controller:\t%s\n", ctrl)
	fmt.Fprintln(w)

	alive := 0
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "BROKER\tADDRESS\tRACK\tSTATUS")
	for _, b := range st.brokers {
		status := "alive"
		if b.fenced {
			status = "fenced"
		} else {
			alive++
		}
		if b.id == st.controllerID {
			status += " (active controller)"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", b.id, b.addr, orDash(b.rack), status)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "%d brokers, %d alive", len(st.brokers), alive)
	if !st.fencedKnown {
		fmt.Fprint(w, " (the cluster does not list fenced brokers: DescribeCluster < v2)")
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w)

	if st.quorumErr != nil {
		fmt.Fprintf(w, "Quorum:\tunavailable (%v)\n", st.quorumErr)
		return nil
	}
	q := st.quorum
	fmt.Fprintf(w, "Quorum LeaderId:\t%d\n", q.LeaderID)
	fmt.Fprintf(w, "Quorum LeaderEpoch:\t%d\n", q.LeaderEpoch)
	fmt.Fprintf(w, "Quorum HighWatermark:\t%d\n", q.HighWatermark)
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tROLE\tLOG-END-OFFSET\tLAG\tLAST-FETCH\tLAST-CAUGHT-UP")
	row := func(r kmsg.DescribeQuorumResponseTopicPartitionReplicaState, role string) {
		if r.ReplicaID == q.LeaderID {
			role = "Leader"
		}
		lag := "-"
		if r.LogEndOffset >= 0 {
			lag = strconv.FormatInt(max(q.HighWatermark-r.LogEndOffset, 0), 10)
		}
		fmt.Fprintf(tw, "%d\t%s\t%d\t%s\t%s\t%s\n", r.ReplicaID, role, r.LogEndOffset, lag,
			msAgo(st.now, r.LastFetchTimestamp), msAgo(st.now, r.LastCaughtUpTimestamp))
	}
	for _, r := range q.CurrentVoters {
		row(r, "Follower")
	}
	for _, r := range q.Observers {
		row(r, "Observer")
	}
	return tw.Flush()
}

// msAgo renders a Unix-millisecond timestamp as an age ("-" if unknown).
func msAgo(now time.Time, ms int64) string {
	if ms < 0 {
		return "-"
	}
	d := now.Sub(time.UnixMilli(ms))
	if d < 0 {
		d = 0
	}
	return d.Round(time.Millisecond).String() + " ago"
}

func hostPort(host string, port int32) string {
	return net.JoinHostPort(host, strconv.Itoa(int(port)))
}

func derefOr(s *string, def string) string {
	if s == nil {
		return def
	}
	return *s
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
