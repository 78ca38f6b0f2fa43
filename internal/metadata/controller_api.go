package metadata

// controller_api.go: the requests a broker sends to the active controller
// (the Raft leader of the metadata quorum) over the controller listener,
// and their answers. Store.Call carries them as JSON; the controller
// package serves them with Store.Handle. They mirror Kafka's KRaft
// broker-to-controller APIs (BrokerRegistration, BrokerHeartbeat,
// AlterPartition, ControlledShutdown) and the admin APIs a broker forwards
// to the controller.

// Controller RPC method names.
const (
	MethodRegisterBroker     = "broker.register"
	MethodBrokerHeartbeat    = "broker.heartbeat"
	MethodAlterPartition     = "partition.alter"
	MethodControlledShutdown = "broker.shutdown"
	MethodReassign           = "partition.reassign"
	MethodElectLeaders       = "partition.elect"
	MethodDescribeQuorum     = "quorum.describe"
)

// RegisterBrokerRequest registers (or re-registers after a restart) a
// broker. The controller writes a register_broker record with Fenced=false
// and a new BrokerEpoch.
type RegisterBrokerRequest struct {
	Broker Broker `json:"broker"`
}

// RegisterBrokerResponse carries the broker epoch the broker sends with
// every heartbeat.
type RegisterBrokerResponse struct {
	BrokerEpoch int64 `json:"broker_epoch"`
}

// BrokerHeartbeatRequest is sent every broker.heartbeat.interval.ms. A
// broker the controller has not heard from for broker.session.timeout.ms
// is fenced (its leaderships move, it leaves every ISR).
type BrokerHeartbeatRequest struct {
	NodeID      int32 `json:"node_id"`
	BrokerEpoch int64 `json:"broker_epoch"`
	// MetadataOffset is the Image.Offset the broker has applied.
	MetadataOffset int64 `json:"metadata_offset"`
}

// BrokerHeartbeatResponse tells a broker whether it is fenced; a fenced
// or unknown broker registers again.
type BrokerHeartbeatResponse struct {
	Fenced bool `json:"fenced"`
	// ErrorCode is a Kafka error code: STALE_BROKER_EPOCH when the epoch is
	// not the registered one (register again).
	ErrorCode int16 `json:"error_code"`
}

// AlterPartitionRequest is a partition leader asking to change its ISR
// (Kafka's AlterPartition). LeaderEpoch and PartitionEpoch are the state
// the leader computed the new ISR from; a stale one is refused
// (FENCED_LEADER_EPOCH / INVALID_UPDATE_VERSION) and the leader waits for
// the newer state to reach it.
type AlterPartitionRequest struct {
	NodeID         int32   `json:"node_id"`
	BrokerEpoch    int64   `json:"broker_epoch"`
	TopicID        UUID    `json:"topic_id"`
	Partition      int32   `json:"partition"`
	LeaderEpoch    int32   `json:"leader_epoch"`
	PartitionEpoch int32   `json:"partition_epoch"`
	NewISR         []int32 `json:"new_isr"`
}

// AlterPartitionResponse is the partition state after the change (or the
// current one with an error code).
type AlterPartitionResponse struct {
	ErrorCode int16     `json:"error_code"`
	State     Partition `json:"state"`
}

// ControlledShutdownRequest asks the controller to move every leadership
// away from a broker that is stopping (SIGTERM) and take it out of every
// ISR. The broker repeats it until Remaining is 0 or it gives up.
type ControlledShutdownRequest struct {
	NodeID      int32 `json:"node_id"`
	BrokerEpoch int64 `json:"broker_epoch"`
}

// ControlledShutdownResponse counts the partitions the broker still leads.
type ControlledShutdownResponse struct {
	ErrorCode int16 `json:"error_code"`
	Remaining int   `json:"remaining"`
}

// PartitionRef names one partition of a topic.
type PartitionRef struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
}

// ReassignRequest is AlterPartitionReassignments: each entry sets a
// partition's target replicas, or cancels its reassignment when Replicas
// is nil.
type ReassignRequest struct {
	Entries []ReassignEntry `json:"entries"`
}

// ReassignEntry is one partition's target replica list (nil: cancel).
type ReassignEntry struct {
	PartitionRef
	Replicas []int32 `json:"replicas"`
}

// ReassignResponse has one result per entry, in order.
type ReassignResponse struct {
	Results []PartitionResult `json:"results"`
}

// PartitionResult is a Kafka error code and message for one partition.
type PartitionResult struct {
	PartitionRef
	ErrorCode int16  `json:"error_code"`
	Message   string `json:"message,omitempty"`
}

// Election types of ElectLeaders.
const (
	ElectPreferred int8 = 0
	ElectUnclean   int8 = 1
)

// ElectLeadersRequest is ElectLeaders; no partitions means all of them.
type ElectLeadersRequest struct {
	Type       int8           `json:"type"`
	Partitions []PartitionRef `json:"partitions"`
}

// ElectLeadersResponse has one result per partition considered
// (ELECTION_NOT_NEEDED when the preferred replica already leads).
type ElectLeadersResponse struct {
	Results []PartitionResult `json:"results"`
}

// QuorumInfo is the Raft quorum's state, for DescribeQuorum and
// `strata cluster status`. Offsets are Raft log indexes.
type QuorumInfo struct {
	LeaderID      int32         `json:"leader_id"`
	LeaderEpoch   int32         `json:"leader_epoch"` // the Raft term
	HighWatermark int64         `json:"high_watermark"`
	Voters        []ReplicaInfo `json:"voters"`
	Observers     []ReplicaInfo `json:"observers"`
}

// ReplicaInfo is one quorum member as the leader sees it.
type ReplicaInfo struct {
	NodeID int32  `json:"node_id"`
	Addr   string `json:"addr"`
	// LogEndOffset is the last log index known to be on the member (-1 if
	// unknown).
	LogEndOffset int64 `json:"log_end_offset"`
	// LastFetchUnixMs / LastCaughtUpUnixMs: -1 if unknown.
	LastFetchUnixMs    int64 `json:"last_fetch_unix_ms"`
	LastCaughtUpUnixMs int64 `json:"last_caught_up_unix_ms"`
}
