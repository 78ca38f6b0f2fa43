package config

import "math"

// Broker config names of data replication (Kafka's ReplicationConfigs).
const (
	ReplicaLagTimeMaxMs          = "replica.lag.time.max.ms"
	ReplicaFetchMaxBytes         = "replica.fetch.max.bytes"
	ReplicaFetchMinBytes         = "replica.fetch.min.bytes"
	ReplicaFetchWaitMaxMs        = "replica.fetch.wait.max.ms"
	ReplicaFetchBackoffMs        = "replica.fetch.backoff.ms"
	ReplicaFetchResponseMaxBytes = "replica.fetch.response.max.bytes"
	NumReplicaFetchers           = "num.replica.fetchers"
	ReplicaSocketTimeoutMs       = "replica.socket.timeout.ms"
)

// replicaDefs are the replication broker configs with Kafka's defaults.
// As in Kafka they are read at start (num.replica.fetchers is dynamic in
// Kafka; here a change takes a restart).
var replicaDefs = []Def{
	longDef(ReplicaLagTimeMaxMs, 30000, 1, "A follower that has not caught up with the leader's log end for this long is dropped from the ISR, ms."),
	intDef(ReplicaFetchMaxBytes, 1048576, 0, math.MaxInt32, "Bytes a follower asks for per partition in one fetch (the first batch comes whole even if larger)."),
	intDef(ReplicaFetchMinBytes, 1, 1, math.MaxInt32, "Bytes a follower's fetch waits for before the leader answers."),
	intDef(ReplicaFetchWaitMaxMs, 500, 0, math.MaxInt32, "Longest a follower's fetch waits at the leader for replica.fetch.min.bytes, ms (keep below replica.lag.time.max.ms)."),
	intDef(ReplicaFetchBackoffMs, 1000, 0, math.MaxInt32, "Pause after a failed replica fetch, ms."),
	intDef(ReplicaFetchResponseMaxBytes, 10485760, 0, math.MaxInt32, "Bytes a follower asks for in one whole fetch response."),
	intDef(NumReplicaFetchers, 1, 1, math.MaxInt32, "Fetchers (connections) per leader broker that copy its partitions."),
	intDef(ReplicaSocketTimeoutMs, 30000, 1, math.MaxInt32, "Socket timeout of a follower's fetch, on top of replica.fetch.wait.max.ms, ms."),
}
