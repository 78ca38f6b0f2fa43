package controller

import (
	"errors"
	"fmt"
	"slices"

	"github.com/twmb/franz-go/pkg/kerr"

	"github.com/strata-io/strata/internal/config"
	"github.com/strata-io/strata/internal/metadata"
)

// brokers.go: a broker's life as the controller sees it — registration
// (and re-registration after a restart), heartbeats, fencing when its
// session expires, and controlled shutdown.

// ErrInvalidRegistration is a registration the controller refuses (no
// host, a bad port or node id).
var ErrInvalidRegistration = errors.New("controller: invalid broker registration")

// uncleanFor reports whether t may elect a leader from outside its ISR
// (unclean.leader.election.enable, the topic's or the broker default).
func uncleanFor(bc config.Broker, t *metadata.Topic) bool {
	return bc.Topic(t.Configs).Get(config.UncleanLeaderElect) == "true"
}

// Register returns the records that register a broker, or register it
// again after a restart, and the broker epoch it gets. The broker is
// unfenced at once. If the image still has an unfenced registration of
// it (the broker restarted within its session), that incarnation is
// fenced first: it may have lost records it had not yet flushed, so it
// must rejoin the ISRs by catching up, as KIP-966 has for an unclean
// shutdown. Partitions without a leader then elect one, which the broker
// can now be.
//
// The first registration of a cluster also writes its cluster id.
func Register(img *metadata.Image, bc config.Broker, req metadata.Broker) ([]metadata.Record, int64, error) {
	if req.NodeID < 0 || req.Host == "" || req.Port <= 0 || req.Port > 65535 {
		return nil, 0, fmt.Errorf("%w: node %d at %q:%d", ErrInvalidRegistration, req.NodeID, req.Host, req.Port)
	}
	b := newBatch(img)
	if img.ClusterID == "" {
		b.pre = append(b.pre, metadata.Record{Type: metadata.TypeCluster, ClusterID: metadata.NewUUID().String()})
	}
	// NB: the epoch only has to grow; the record's offset (Kafka's
	// choice) is not known before the record is committed.
	epoch := img.Offset + 1
	if old, ok := img.Brokers[req.NodeID]; ok {
		epoch = max(epoch, old.Epoch+1)
		if !old.Fenced {
			b.fence(bc, []int32{req.NodeID})
		}
	}
	req.Fenced = false
	req.Epoch = epoch
	b.setBroker(req)
	b.electLeaderless(bc)
	return b.records(), epoch, nil
}

// Fence returns the records that fence brokers (session expired): each
// leaves every ISR it is in, except as an ISR's last member, and its
// leaderships move to the first live ISR member in replica order, or to
// no one (-1) when there is none and the topic does not allow unclean
// election. Brokers already fenced or unknown are ignored.
func Fence(img *metadata.Image, bc config.Broker, ids ...int32) []metadata.Record {
	b := newBatch(img)
	b.fence(bc, ids)
	return b.records()
}

// fence fences brokers one after the other, as Kafka fences one stale
// broker at a time: of two ISR members fenced together, the second stays
// as the ISR's last member.
func (b *batch) fence(bc config.Broker, ids []int32) {
	for _, id := range ids {
		br, ok := b.broker(id)
		if !ok || br.Fenced {
			continue
		}
		br.Fenced = true
		b.setBroker(br)
		for _, name := range b.img.TopicNames() {
			t := b.img.Topics[name]
			unclean := -1 // computed on first need: the topic config is a map build
			for i := range t.Partitions {
				p := b.partition(t, i)
				if p.Leader != id && !slices.Contains(p.ISR, id) {
					continue
				}
				if unclean < 0 {
					unclean = btoi(uncleanFor(bc, t))
				}
				c := b.newChange(t, i, unclean == 1)
				c.isr = without(p.ISR, []int32{id})
				b.change(t, i, c)
			}
		}
	}
}

// electLeaderless elects a leader for every partition that has none and
// now has an acceptable ISR member (or, where allowed, any acceptable
// replica): Kafka's handleBrokerUnfenced.
func (b *batch) electLeaderless(bc config.Broker) {
	for _, name := range b.img.TopicNames() {
		t := b.img.Topics[name]
		unclean := -1
		for i := range t.Partitions {
			if b.partition(t, i).Leader >= 0 {
				continue
			}
			if unclean < 0 {
				unclean = btoi(uncleanFor(bc, t))
			}
			b.change(t, i, b.newChange(t, i, unclean == 1))
		}
	}
}

func btoi(v bool) int {
	if v {
		return 1
	}
	return 0
}

// Heartbeat answers a broker's heartbeat from the image: STALE_BROKER_EPOCH
// for an unknown broker or an older epoch than the registered one, Fenced
// for a fenced broker (both register again). ok says the session may be
// extended.
//
// NB: a newer epoch than the image's means the image is behind (a new
// controller still applying the log it inherited), not the broker: its
// registration is committed. Telling it to register again would only
// churn its leaderships.
func Heartbeat(img *metadata.Image, req metadata.BrokerHeartbeatRequest) (resp metadata.BrokerHeartbeatResponse, ok bool) {
	br, known := img.Brokers[req.NodeID]
	switch {
	case known && req.BrokerEpoch > br.Epoch:
		ok = true
	case !known || br.Epoch != req.BrokerEpoch:
		resp.ErrorCode = kerr.StaleBrokerEpoch.Code
	case br.Fenced:
		resp.Fenced = true
	default:
		ok = true
	}
	return resp, ok
}

// ControlledShutdown returns the records of a broker's controlled
// shutdown and how many partitions it still leads after them. As in
// Kafka's KRaft controller the broker leaves every ISR (but an ISR's last
// member stays), its leaderships move to other live ISR members (a
// partition whose only ISR member it is has no leader until it returns),
// and it is fenced, so no leadership or ISR comes back to it while it
// stops and clients no longer see it. A stale epoch is refused with
// STALE_BROKER_EPOCH; a broker already fenced has nothing left to do.
func ControlledShutdown(img *metadata.Image, bc config.Broker, req metadata.ControlledShutdownRequest) ([]metadata.Record, metadata.ControlledShutdownResponse) {
	br, ok := img.Brokers[req.NodeID]
	if !ok || br.Epoch != req.BrokerEpoch {
		return nil, metadata.ControlledShutdownResponse{ErrorCode: kerr.StaleBrokerEpoch.Code}
	}
	b := newBatch(img)
	b.fence(bc, []int32{req.NodeID})
	remaining := 0
	for _, name := range img.TopicNames() {
		t := img.Topics[name]
		for i := range t.Partitions {
			if b.partition(t, i).Leader == req.NodeID {
				remaining++
			}
		}
	}
	return b.records(), metadata.ControlledShutdownResponse{Remaining: remaining}
}
