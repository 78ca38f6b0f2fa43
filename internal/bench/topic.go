package bench

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// newClient returns a client for c's cluster with opts added.
func (c *Common) newClient(opts ...kgo.Opt) (*kgo.Client, error) {
	base := []kgo.Opt{
		kgo.SeedBrokers(c.Seeds...),
		kgo.ClientID("strata-bench"),
		kgo.DialTimeout(min(c.RequestTimeout, 10*time.Second)),
		kgo.RetryTimeout(c.RequestTimeout),
	}
	base = append(base, c.ClientOpts...)
	return kgo.NewClient(append(base, opts...)...)
}

func (c *Common) newAdmin() (*kadm.Client, error) {
	cl, err := c.newClient()
	if err != nil {
		return nil, err
	}
	adm := kadm.NewClient(cl)
	adm.SetTimeoutMillis(int32(c.RequestTimeout.Milliseconds()))
	return adm, nil
}

// ensureTopic creates the topic unless it exists, waits until every
// partition has a leader, and returns the partition count.
func (c *Common) ensureTopic(ctx context.Context) (int32, error) {
	adm, err := c.newAdmin()
	if err != nil {
		return 0, err
	}
	defer adm.Close()
	cctx, cancel := context.WithTimeout(ctx, c.RequestTimeout)
	defer cancel()
	// NB: kadm returns the topic's error as err too; an existing topic is
	// used as it is.
	resp, err := adm.CreateTopic(cctx, c.Partitions, c.ReplicationFactor, nil, c.Topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return 0, fmt.Errorf("creating topic %q: %w", c.Topic, err)
	}
	return c.waitLeaders(cctx, adm)
}

// waitLeaders polls metadata until the topic exists and every partition
// has a leader: a just-created topic may take a moment to appear.
func (c *Common) waitLeaders(ctx context.Context, adm *kadm.Client) (int32, error) {
	for {
		md, err := adm.Metadata(ctx, c.Topic)
		if err == nil {
			if td, ok := md.Topics[c.Topic]; ok && td.Err == nil && len(td.Partitions) > 0 {
				ready := true
				for _, p := range td.Partitions {
					ready = ready && p.Err == nil && p.Leader >= 0
				}
				if ready {
					return int32(len(td.Partitions)), nil
				}
			}
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = fmt.Errorf("topic %q has no leader for every partition", c.Topic)
			}
			return 0, fmt.Errorf("waiting for topic %q: %w", c.Topic, err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// topicOffsets returns the topic's partitions with their start and end
// offsets; the topic must exist.
func (c *Common) topicOffsets(ctx context.Context) (start, end kadm.ListedOffsets, err error) {
	adm, err := c.newAdmin()
	if err != nil {
		return nil, nil, err
	}
	defer adm.Close()
	cctx, cancel := context.WithTimeout(ctx, c.RequestTimeout)
	defer cancel()
	if _, err := c.waitLeaders(cctx, adm); err != nil {
		return nil, nil, err
	}
	if start, err = adm.ListStartOffsets(cctx, c.Topic); err == nil {
		err = start.Error()
	}
	if err != nil {
		return nil, nil, fmt.Errorf("listing start offsets: %w", err)
	}
	if end, err = adm.ListEndOffsets(cctx, c.Topic); err == nil {
		err = end.Error()
	}
	if err != nil {
		return nil, nil, fmt.Errorf("listing end offsets: %w", err)
	}
	return start, end, nil
}

// deleteTopic removes the topic (--cleanup).
func (c *Common) deleteTopic(ctx context.Context) error {
	adm, err := c.newAdmin()
	if err != nil {
		return err
	}
	defer adm.Close()
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.RequestTimeout)
	defer cancel()
	resp, err := adm.DeleteTopic(cctx, c.Topic)
	if err == nil {
		err = resp.Err
	}
	if err != nil {
		return fmt.Errorf("deleting topic %q: %w", c.Topic, err)
	}
	return nil
}
