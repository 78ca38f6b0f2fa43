package metadata

import (
	"fmt"
	"math/rand/v2"
	"sort"
)

// placement.go: where the replicas of new partitions go (CreateTopics,
// CreatePartitions, the internal topics). Only unfenced brokers get new
// replicas: a fenced one is down or stopping, and a partition placed on it
// would start without its replica. The spread follows Kafka's
// AdminUtils.assignReplicasToBrokers: leaders round-robin from a random
// start, followers shifted by one more broker every full round, so that
// when a broker dies its partitions' leadership spreads over several
// brokers instead of falling on its neighbour; with broker.rack set the
// broker list alternates racks and every partition's replicas span as
// many racks as its replication factor allows.

// UnfencedBrokerIDs lists the registered brokers that are not fenced,
// sorted.
func (img *Image) UnfencedBrokerIDs() []int32 {
	ids := make([]int32, 0, len(img.Brokers))
	for _, id := range img.BrokerIDs() {
		if !img.Brokers[id].Fenced {
			ids = append(ids, id)
		}
	}
	return ids
}

// placeReplicas returns the replicas of n new partitions, the first of
// which has index first, with rf replicas each, leader first.
func placeReplicas(img *Image, first, n, rf int) ([][]int32, error) {
	return placeReplicasFrom(img, first, n, rf, rand.IntN)
}

// placeReplicasFrom is placeReplicas with the random source given, so
// tests can pin the start.
func placeReplicasFrom(img *Image, first, n, rf int, intn func(int) int) ([][]int32, error) {
	if rf <= 0 {
		return nil, fmt.Errorf("%w: %d (must be at least 1)", ErrInvalidReplicationFactor, rf)
	}
	brokers := img.UnfencedBrokerIDs()
	if rf > len(brokers) {
		return nil, fmt.Errorf("%w: replication factor %d is larger than the %d available (registered, unfenced) brokers", ErrInvalidReplicationFactor, rf, len(brokers))
	}
	list, rackOf, racks := rackAlternated(img, brokers)
	nb := len(list)
	start := intn(nb)
	shift := intn(nb)
	out := make([][]int32, n)
	for i := range out {
		pid := first + i
		if pid > 0 && pid%nb == 0 {
			shift++
		}
		lead := (pid + start) % nb
		replicas := make([]int32, 1, rf)
		replicas[0] = list[lead]
		usedRacks := map[string]bool{rackOf[list[lead]]: true}
		used := map[int32]bool{list[lead]: true}
		for k := 0; len(replicas) < rf; k++ {
			b := list[(lead+1+(shift+k)%(nb-1))%nb]
			// NB: a broker on a rack that already has a replica is skipped
			// while some rack has none; a broker already used only if
			// every broker is (never, as rf <= brokers).
			if used[b] || (usedRacks[rackOf[b]] && len(usedRacks) < racks) {
				continue
			}
			replicas = append(replicas, b)
			used[b] = true
			usedRacks[rackOf[b]] = true
		}
		out[i] = replicas
	}
	return out, nil
}

// rackAlternated orders brokers so that consecutive ones are on different
// racks (rack A's first broker, rack B's first, ..., rack A's second, ...).
// Without any rack set it is brokers as given, each on its own "rack"
// (so the rack rule never skips one). A broker without a rack among
// brokers with racks counts as one more rack, "".
func rackAlternated(img *Image, brokers []int32) (list []int32, rackOf map[int32]string, racks int) {
	rackOf = make(map[int32]string, len(brokers))
	byRack := map[string][]int32{}
	anyRack := false
	for _, id := range brokers {
		r := img.Brokers[id].Rack
		anyRack = anyRack || r != ""
		rackOf[id] = r
		byRack[r] = append(byRack[r], id)
	}
	if !anyRack {
		for _, id := range brokers {
			rackOf[id] = fmt.Sprint(id)
		}
		return brokers, rackOf, len(brokers)
	}
	names := make([]string, 0, len(byRack))
	for r := range byRack {
		names = append(names, r)
	}
	sort.Strings(names)
	for i := 0; len(list) < len(brokers); i++ {
		for _, r := range names {
			if i < len(byRack[r]) {
				list = append(list, byRack[r][i])
			}
		}
	}
	return list, rackOf, len(names)
}

// newPartitions builds the partitions of an assignment: the ISR is the
// replicas on unfenced brokers, the leader the first of them (Kafka's
// createPartitions). first is the first partition's index, for errors.
func newPartitions(img *Image, first int, assignment [][]int32) ([]Partition, error) {
	ps := make([]Partition, len(assignment))
	for i, replicas := range assignment {
		isr := make([]int32, 0, len(replicas))
		for _, b := range replicas {
			if br, ok := img.Brokers[b]; ok && !br.Fenced {
				isr = append(isr, b)
			}
		}
		if len(isr) == 0 {
			return nil, fmt.Errorf("%w: every broker of partition %d's assignment %v is fenced", ErrInvalidReplicaAssignment, first+i, replicas)
		}
		ps[i] = Partition{Replicas: replicas, ISR: isr, Leader: isr[0]}
	}
	return ps, nil
}
