package clienttest

// group_sarama_kafkago_test.go: sarama's ConsumerGroup and kafka-go's
// Reader{GroupID} run the split/leave/rejoin scenario of
// group_helpers_test.go against the classic group protocol.

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/IBM/sarama"
	"github.com/segmentio/kafka-go"
)

func TestGroupSaramaSplitLeaveRejoin(t *testing.T) {
	for _, s := range []struct {
		name     string
		strategy sarama.BalanceStrategy
	}{
		{"range", sarama.NewBalanceStrategyRange()},
		{"roundrobin", sarama.NewBalanceStrategyRoundRobin()},
		{"sticky", sarama.NewBalanceStrategySticky()},
	} {
		t.Run(s.name, func(t *testing.T) {
			runSplitLeaveRejoin(t, newSaramaMember(s.strategy))
		})
	}
}

func TestGroupKafkaGoSplitLeaveRejoin(t *testing.T) {
	runSplitLeaveRejoin(t, newKafkaGoMember)
}

// saramaMember runs sarama's ConsumerGroup.Consume in a loop, marking
// every message it records (sarama commits marks when a session ends and
// every AutoCommit.Interval).
type saramaMember struct {
	cg     sarama.ConsumerGroup
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

func newSaramaMember(strategy sarama.BalanceStrategy) newMemberFunc {
	return func(t *testing.T, addr, group, topic, name string, l *ledger) groupMember {
		t.Helper()
		cfg := saramaConfig()
		cfg.Version = sarama.V2_8_0_0
		cfg.ClientID = name
		cfg.Consumer.Group.Session.Timeout = groupSession
		cfg.Consumer.Group.Heartbeat.Interval = groupHeartbeat
		cfg.Consumer.Group.Rebalance.Timeout = groupRebalance
		cfg.Consumer.Group.Rebalance.Retry.Backoff = 100 * time.Millisecond
		cfg.Consumer.Group.Rebalance.GroupStrategies = []sarama.BalanceStrategy{strategy}
		cfg.Consumer.Offsets.Initial = sarama.OffsetOldest
		cg, err := sarama.NewConsumerGroup([]string{addr}, group, cfg)
		if err != nil {
			t.Fatalf("sarama.NewConsumerGroup: %v", err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		m := &saramaMember{cg: cg, cancel: cancel, done: make(chan struct{})}
		go func() {
			defer close(m.done)
			h := saramaHandler{name: name, l: l}
			for ctx.Err() == nil {
				if err := cg.Consume(ctx, []string{topic}, h); err != nil && !errors.Is(err, sarama.ErrClosedConsumerGroup) {
					t.Logf("%s: sarama Consume: %v", name, err)
					select {
					case <-ctx.Done():
					case <-time.After(100 * time.Millisecond): // sarama's own retry pace
					}
				}
			}
		}()
		go func() {
			for err := range cg.Errors() {
				t.Logf("%s: sarama group error: %v", name, err)
			}
		}()
		t.Cleanup(m.close)
		return m
	}
}

func (m *saramaMember) close() {
	m.once.Do(func() {
		m.cancel()
		<-m.done
		m.cg.Close()
	})
}

type saramaHandler struct {
	name string
	l    *ledger
}

func (saramaHandler) Setup(sarama.ConsumerGroupSession) error   { return nil }
func (saramaHandler) Cleanup(sarama.ConsumerGroupSession) error { return nil }
func (h saramaHandler) ConsumeClaim(s sarama.ConsumerGroupSession, c sarama.ConsumerGroupClaim) error {
	for {
		select {
		case msg, ok := <-c.Messages():
			if !ok {
				return nil
			}
			h.l.add(consumed{member: h.name, generation: s.GenerationID(), partition: msg.Partition, offset: msg.Offset, value: string(msg.Value)})
			s.MarkMessage(msg, "")
		case <-s.Context().Done():
			return nil
		}
	}
}

// kafkaGoMember is a kafka-go Reader with a GroupID; ReadMessage commits
// each message (CommitInterval 0: synchronous commits).
type kafkaGoMember struct {
	r      *kafka.Reader
	cancel context.CancelFunc
	done   chan struct{}
	once   sync.Once
}

func newKafkaGoMember(t *testing.T, addr, group, topic, name string, l *ledger) groupMember {
	t.Helper()
	r := kafka.NewReader(kafka.ReaderConfig{
		Brokers:           []string{addr},
		GroupID:           group,
		Topic:             topic,
		Dialer:            &kafka.Dialer{ClientID: name, Timeout: 10 * time.Second},
		SessionTimeout:    groupSession,
		HeartbeatInterval: groupHeartbeat,
		RebalanceTimeout:  groupRebalance,
		JoinGroupBackoff:  100 * time.Millisecond,
		StartOffset:       kafka.FirstOffset,
		MinBytes:          1,
		MaxBytes:          10 << 20,
		MaxWait:           200 * time.Millisecond,
	})
	ctx, cancel := context.WithCancel(context.Background())
	m := &kafkaGoMember{r: r, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(m.done)
		for {
			msg, err := r.ReadMessage(ctx)
			if err != nil {
				if ctx.Err() == nil {
					t.Logf("%s: kafka-go ReadMessage: %v", name, err)
				}
				return
			}
			l.add(consumed{member: name, generation: -1, partition: int32(msg.Partition), offset: msg.Offset, value: string(msg.Value)})
		}
	}()
	t.Cleanup(m.close)
	return m
}

func (m *kafkaGoMember) close() {
	m.once.Do(func() {
		m.cancel()
		<-m.done
		m.r.Close()
	})
}
