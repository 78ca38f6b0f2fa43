package server

import (
	"context"
	"log/slog"
	"net"
	"strconv"
	"time"

	"github.com/strata-io/strata/internal/config"
	"github.com/strata-io/strata/internal/metadata"
	"github.com/strata-io/strata/internal/partition"
)

// replicationConfig maps the broker's replica.* configs to the partition
// layer's replication settings, with the metadata image as the directory
// of the other brokers.
func replicationConfig(cfg config.Broker, nodeID int32, meta *metadata.Store, logger *slog.Logger) partition.ReplicationConfig {
	ms := func(name string) time.Duration { return time.Duration(cfg.Int(name)) * time.Millisecond }
	return partition.ReplicationConfig{
		NodeID:                nodeID,
		LagTimeMax:            ms(config.ReplicaLagTimeMaxMs),
		FetchMaxBytes:         int32(cfg.Int(config.ReplicaFetchMaxBytes)),
		FetchMinBytes:         int32(cfg.Int(config.ReplicaFetchMinBytes)),
		FetchWaitMax:          ms(config.ReplicaFetchWaitMaxMs),
		FetchBackoff:          ms(config.ReplicaFetchBackoffMs),
		FetchResponseMaxBytes: int32(cfg.Int(config.ReplicaFetchResponseMaxBytes)),
		NumFetchers:           int(cfg.Int(config.NumReplicaFetchers)),
		SocketTimeout:         ms(config.ReplicaSocketTimeoutMs),
		BrokerAddr: func(id int32) (string, bool) {
			b, ok := meta.Image().Brokers[id]
			if !ok {
				return "", false
			}
			return net.JoinHostPort(b.Host, strconv.Itoa(int(b.Port))), true
		},
		AlterPartition: func(ctx context.Context, req metadata.AlterPartitionRequest) (metadata.AlterPartitionResponse, error) {
			var resp metadata.AlterPartitionResponse
			err := meta.Call(ctx, metadata.MethodAlterPartition, req, &resp)
			return resp, err
		},
		// NB: the epoch the controller checks the request against is the
		// one in the image; right after this broker registers again, the
		// local image may still have the old one, and the request is
		// refused (STALE_BROKER_EPOCH) and retried after the backoff.
		BrokerEpoch: func() int64 { return meta.Image().Brokers[nodeID].Epoch },
		Logger:      logger,
	}
}

// Partitions is the broker's replicas (for tests and tools that look at
// a replica's log, HW or state).
func (b *Broker) Partitions() *partition.Set { return b.parts }
