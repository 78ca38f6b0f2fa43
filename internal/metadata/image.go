package metadata

import (
	"crypto/rand"
	"encoding/base64"
	"sort"
)

// UUID is a 16-byte id (topic ids, the cluster id), as Kafka uses.
type UUID [16]byte

// NewUUID returns a random (v4) UUID.
func NewUUID() UUID {
	var u UUID
	_, _ = rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return u
}

// String is Kafka's rendering of an id: URL-safe base64 without padding.
func (u UUID) String() string { return base64.RawURLEncoding.EncodeToString(u[:]) }

// IsZero reports whether u is the null id.
func (u UUID) IsZero() bool { return u == UUID{} }

// Broker is a registered broker.
type Broker struct {
	NodeID int32  `json:"node_id"`
	Host   string `json:"host"`
	Port   int32  `json:"port"`
	Rack   string `json:"rack,omitempty"`
	// Fenced brokers are registered but not alive: they lead nothing, are
	// in no ISR and are not listed to clients.
	Fenced bool `json:"fenced,omitempty"`
	// Epoch grows with every registration of the broker (Kafka's broker
	// epoch: the metadata offset of its registration record).
	Epoch int64 `json:"epoch,omitempty"`
	// ControllerAddr is the broker's controller listener ("" if it has
	// none).
	ControllerAddr string `json:"controller_addr,omitempty"`
}

// Partition is one partition's placement and leadership.
type Partition struct {
	Replicas []int32 `json:"replicas"`
	ISR      []int32 `json:"isr"`
	Leader   int32   `json:"leader"`
	// LeaderEpoch grows with every leader change; it is stamped into every
	// batch the leader writes.
	LeaderEpoch int32 `json:"leader_epoch"`
	// PartitionEpoch grows with every change of the partition's state.
	PartitionEpoch int32 `json:"partition_epoch"`
	// AddingReplicas and RemovingReplicas are set while a reassignment
	// runs: Replicas holds the union of old and target replicas until the
	// adding ones are in the ISR, then becomes the target.
	AddingReplicas   []int32 `json:"adding_replicas,omitempty"`
	RemovingReplicas []int32 `json:"removing_replicas,omitempty"`
}

// Topic is a topic and its partitions (index = partition id).
type Topic struct {
	Name       string            `json:"name"`
	ID         UUID              `json:"id"`
	Partitions []Partition       `json:"partitions"`
	Configs    map[string]string `json:"configs,omitempty"`
}

// Image is an immutable view of the cluster metadata. Never modify an Image
// obtained from a Store: apply Records instead.
type Image struct {
	ClusterID string `json:"cluster_id"`
	// Offset counts the records applied so far.
	Offset  int64             `json:"offset"`
	Brokers map[int32]Broker  `json:"brokers"`
	Topics  map[string]*Topic `json:"topics"`
	byID    map[UUID]*Topic
	// BrokerConfigs holds dynamic broker configs by resource name: "" is
	// the cluster-wide default, "1" the broker with node id 1.
	BrokerConfigs map[string]map[string]string `json:"broker_configs,omitempty"`
	// ControllerID is the active controller (this node on a single node).
	ControllerID int32 `json:"controller_id"`
	// ProducerIDsEnd is the end of the last block of producer ids handed
	// to a broker: every id below it is taken (AllocateProducerIDs).
	ProducerIDsEnd int64 `json:"producer_ids_end,omitempty"`
}

func emptyImage() *Image {
	return &Image{
		Brokers:       map[int32]Broker{},
		Topics:        map[string]*Topic{},
		byID:          map[UUID]*Topic{},
		BrokerConfigs: map[string]map[string]string{},
		ControllerID:  -1,
	}
}

// Topic returns a topic by name, nil if there is none.
func (img *Image) Topic(name string) *Topic { return img.Topics[name] }

// TopicByID returns a topic by id, nil if there is none.
func (img *Image) TopicByID(id UUID) *Topic { return img.byID[id] }

// TopicNames lists the topic names, sorted.
func (img *Image) TopicNames() []string {
	names := make([]string, 0, len(img.Topics))
	for n := range img.Topics {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// BrokerIDs lists the registered brokers, sorted.
func (img *Image) BrokerIDs() []int32 {
	ids := make([]int32, 0, len(img.Brokers))
	for id := range img.Brokers {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

// clone copies the image's maps so a record can be applied to the copy.
// Topics are shared until a record changes one, which then copies it.
func (img *Image) clone() *Image {
	out := *img
	out.Brokers = make(map[int32]Broker, len(img.Brokers))
	for k, v := range img.Brokers {
		out.Brokers[k] = v
	}
	out.Topics = make(map[string]*Topic, len(img.Topics))
	out.byID = make(map[UUID]*Topic, len(img.Topics))
	for k, v := range img.Topics {
		out.Topics[k] = v
		out.byID[v.ID] = v
	}
	out.BrokerConfigs = make(map[string]map[string]string, len(img.BrokerConfigs))
	for k, v := range img.BrokerConfigs {
		out.BrokerConfigs[k] = v
	}
	return &out
}

func (t *Topic) clone() *Topic {
	out := *t
	out.Partitions = append([]Partition(nil), t.Partitions...)
	out.Configs = make(map[string]string, len(t.Configs))
	for k, v := range t.Configs {
		out.Configs[k] = v
	}
	return &out
}
