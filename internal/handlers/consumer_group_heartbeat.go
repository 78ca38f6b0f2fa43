package handlers

// ConsumerGroupHeartbeat (key 68), v0–v1: the KIP-848 consumer group
// protocol, with server-side assignment (group.consumer.assignors: uniform,
// range). v1 (KIP-1082) has clients make up their member ids and adds
// SubscribedTopicRegex (RE2, matched against whole topic names, as Kafka
// does with RE2/J). All the logic is in internal/group (consumer_*.go).
//
// Differences from Kafka 4: a classic group with members is never
// converted (Kafka's group.consumer.migration.policy=disabled answer,
// GROUP_ID_NOT_FOUND); an empty one is taken over. Rack-aware assignment
// is not done (racks are stored, not used). A member rejoining at epoch 0
// under a member id the group knows starts over with no partitions instead
// of being fenced, which is what franz-go and the Java client expect after
// FENCED_MEMBER_EPOCH.

import (
	"context"

	"github.com/twmb/franz-go/pkg/kmsg"
)

func init() {
	register(API{Key: 68, MinVersion: 0, MaxVersion: 1, Enabled: consumerProtocolEnabled, Handle: consumerGroupHeartbeat})
}

func consumerGroupHeartbeat(_ context.Context, env *Env, req *Request) (kmsg.Response, error) {
	r := req.Body.(*kmsg.ConsumerGroupHeartbeatRequest)
	return env.Groups.ConsumerGroupHeartbeat(req.groupRequest(), r), nil
}

// consumerProtocolEnabled: group.coordinator.rebalance.protocols lists
// "consumer" (it does by default, as in Kafka 4).
func consumerProtocolEnabled(env *Env) bool {
	return env.Config == nil || env.Config().RebalanceProtocolEnabled("consumer")
}
