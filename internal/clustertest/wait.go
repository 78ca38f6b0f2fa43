package clustertest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// attemptTimeout bounds one admin round trip of a wait: a request that
// went to a paused broker hangs, and the next attempt should go elsewhere.
const attemptTimeout = 3 * time.Second

// Eventually polls fn until it returns nil or timeout passes, then fails
// the test with what and fn's last error. It waits on an observable
// state of the cluster rather than on the clock.
func (c *Cluster) Eventually(what string, timeout time.Duration, fn func(ctx context.Context) error) {
	c.t.Helper()
	if err := c.poll(timeout, fn); err != nil {
		c.t.Fatalf("clustertest: %s: not within %v: %v", what, timeout, err)
	}
}

// poll is Eventually returning the last error instead of failing.
func (c *Cluster) poll(timeout time.Duration, fn func(ctx context.Context) error) error {
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), attemptTimeout)
		err := fn(ctx)
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Metadata is one Metadata answer for topics (all topics if none),
// always fresh from a broker.
func (c *Cluster) Metadata(ctx context.Context, topics ...string) (kadm.Metadata, error) {
	return c.adm.Metadata(fresh(ctx), topics...)
}

// fresh makes kadm send Metadata to a broker instead of answering from
// the client's cache (kadm answers from it for up to MetadataMinAge, and
// the broker list of a topic-less request for longer): the harness waits
// for changes and must see them. Asking for the authorized operations is
// kadm's one way to bypass the cache.
func fresh(ctx context.Context) context.Context { return kadm.WithAuthorizedOps(ctx) }

// WaitBrokers waits until Metadata lists exactly the running, unpaused
// brokers (a broker that was killed or paused drops out once the
// controller fences it). On a timeout it reports what each live broker
// lists, since each answers from its own copy of the metadata.
func (c *Cluster) WaitBrokers(timeout time.Duration) {
	c.t.Helper()
	want := c.Live()
	err := c.poll(timeout, func(ctx context.Context) error {
		md, err := c.adm.BrokerMetadata(fresh(ctx))
		if err != nil {
			return err
		}
		got := md.Brokers.NodeIDs()
		slices.Sort(got)
		if !slices.Equal(got, want) {
			return fmt.Errorf("Metadata lists brokers %v", got)
		}
		return nil
	})
	if err != nil {
		c.t.Fatalf("clustertest: Metadata lists brokers %v: not within %v: %v\n%s", want, timeout, err, c.brokerViews())
	}
}

// brokerViews asks every live broker for Metadata and DescribeCluster
// (with fenced brokers) and describes what each answered.
func (c *Cluster) brokerViews() string {
	var b strings.Builder
	cl := c.cl
	for _, id := range c.Live() {
		ctx, cancel := context.WithTimeout(context.Background(), attemptTimeout)
		fmt.Fprintf(&b, "node %d: ", id)
		md := kmsg.NewPtrMetadataRequest()
		if resp, err := md.RequestWith(ctx, cl.Broker(int(id))); err != nil {
			fmt.Fprintf(&b, "Metadata: %v; ", err)
		} else {
			var ids []int32
			for _, br := range resp.Brokers {
				ids = append(ids, br.NodeID)
			}
			fmt.Fprintf(&b, "Metadata brokers %v controller %d; ", ids, resp.ControllerID)
		}
		dc := kmsg.NewPtrDescribeClusterRequest()
		dc.IncludeFencedBrokers = true
		if resp, err := dc.RequestWith(ctx, cl.Broker(int(id))); err != nil {
			fmt.Fprintf(&b, "DescribeCluster: %v\n", err)
		} else {
			fmt.Fprint(&b, "DescribeCluster:")
			for _, br := range resp.Brokers {
				fmt.Fprintf(&b, " %d(fenced=%v)", br.NodeID, br.IsFenced)
			}
			fmt.Fprintln(&b)
		}
		cancel()
	}
	return b.String()
}

// ControllerID is the active controller's node id as Metadata reports it.
func (c *Cluster) ControllerID() int32 {
	c.t.Helper()
	var id int32 = -1
	c.Eventually("Metadata names an active controller", 30*time.Second, func(ctx context.Context) error {
		md, err := c.adm.BrokerMetadata(fresh(ctx))
		if err != nil {
			return err
		}
		if md.Controller < 0 {
			return errors.New("no controller")
		}
		id = md.Controller
		return nil
	})
	return id
}

// CreateTopic creates topic with partitions and replication factor rf
// (and configs key=value) and waits until every partition has a leader.
func (c *Cluster) CreateTopic(topic string, partitions int32, rf int16, configs map[string]string) {
	c.t.Helper()
	cfgs := make(map[string]*string, len(configs))
	for k, v := range configs {
		cfgs[k] = &v
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := c.adm.CreateTopic(ctx, partitions, rf, cfgs, topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		c.t.Fatalf("clustertest: create topic %q: %v", topic, err)
	}
	c.WaitLeaders(topic, 30*time.Second)
}

// topicState returns the partitions of topic from one Metadata answer.
func (c *Cluster) topicState(ctx context.Context, topic string) (kadm.PartitionDetails, error) {
	md, err := c.adm.Metadata(fresh(ctx), topic)
	if err != nil {
		return nil, err
	}
	td, ok := md.Topics[topic]
	if !ok {
		return nil, fmt.Errorf("topic %q not in Metadata", topic)
	}
	if td.Err != nil && len(td.Partitions) == 0 {
		return nil, fmt.Errorf("topic %q: %w", topic, td.Err)
	}
	return td.Partitions, nil
}

// WaitLeaders waits until every partition of topic has a leader that is
// a live broker.
func (c *Cluster) WaitLeaders(topic string, timeout time.Duration) {
	c.t.Helper()
	live := c.Live()
	c.Eventually(fmt.Sprintf("every partition of %q led by a live broker (%v)", topic, live), timeout, func(ctx context.Context) error {
		ps, err := c.topicState(ctx, topic)
		if err != nil {
			return err
		}
		for _, p := range ps.Sorted() {
			if p.Leader < 0 || !slices.Contains(live, p.Leader) {
				return fmt.Errorf("partition %d: leader %d (err %v)", p.Partition, p.Leader, p.Err)
			}
		}
		return nil
	})
}

// WaitFullISR waits until every partition of topic has a live leader and
// all its replicas in the ISR: after a restart, the broker is back.
func (c *Cluster) WaitFullISR(topic string, timeout time.Duration) {
	c.t.Helper()
	live := c.Live()
	c.Eventually(fmt.Sprintf("every partition of %q with its full replica set in the ISR", topic), timeout, func(ctx context.Context) error {
		ps, err := c.topicState(ctx, topic)
		if err != nil {
			return err
		}
		for _, p := range ps.Sorted() {
			if p.Leader < 0 || !slices.Contains(live, p.Leader) {
				return fmt.Errorf("partition %d: leader %d", p.Partition, p.Leader)
			}
			if !sameSet(p.ISR, p.Replicas) {
				return fmt.Errorf("partition %d: ISR %v, replicas %v", p.Partition, p.ISR, p.Replicas)
			}
		}
		return nil
	})
}

// WaitISR waits until cond holds for the ISR of topic's partition p.
func (c *Cluster) WaitISR(topic string, p int32, what string, timeout time.Duration, cond func(isr []int32) bool) {
	c.t.Helper()
	c.Eventually(fmt.Sprintf("%s/%d: %s", topic, p, what), timeout, func(ctx context.Context) error {
		ps, err := c.topicState(ctx, topic)
		if err != nil {
			return err
		}
		d, ok := ps[p]
		if !ok {
			return fmt.Errorf("no partition %d", p)
		}
		if !cond(d.ISR) {
			return fmt.Errorf("ISR %v (replicas %v, leader %d)", d.ISR, d.Replicas, d.Leader)
		}
		return nil
	})
}

// Partition returns topic's partition p as Metadata reports it now.
func (c *Cluster) Partition(topic string, p int32) kadm.PartitionDetail {
	c.t.Helper()
	var d kadm.PartitionDetail
	c.Eventually(fmt.Sprintf("Metadata of %s/%d", topic, p), 30*time.Second, func(ctx context.Context) error {
		ps, err := c.topicState(ctx, topic)
		if err != nil {
			return err
		}
		var ok bool
		if d, ok = ps[p]; !ok {
			return fmt.Errorf("no partition %d", p)
		}
		return nil
	})
	return d
}

// Leader is the current leader of topic's partition p, waiting until
// there is one.
func (c *Cluster) Leader(topic string, p int32) int32 {
	c.t.Helper()
	var leader int32 = -1
	c.Eventually(fmt.Sprintf("%s/%d has a leader", topic, p), 30*time.Second, func(ctx context.Context) error {
		ps, err := c.topicState(ctx, topic)
		if err != nil {
			return err
		}
		if d, ok := ps[p]; ok && d.Leader >= 0 {
			leader = d.Leader
			return nil
		}
		return errors.New("no leader")
	})
	return leader
}

func sameSet(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
