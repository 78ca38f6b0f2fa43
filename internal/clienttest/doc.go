// Package clienttest holds integration tests that drive an in-process Strata
// broker with three independent Go Kafka clients: franz-go (kgo/kadm), sarama
// and kafka-go. Each test starts its own broker through brokertest.Start, so
// tests are independent and may run in parallel.
//
// The package has no non-test code besides this comment. It owns nothing in
// the broker and must never reach into broker internals: everything it checks
// is observable on the Kafka wire, so a failure here is a compatibility bug a
// real client would hit.
//
// The group_*_test.go files drive consumer groups (the classic protocol)
// with each client's own group consumer: franz-go kgo.ConsumerGroup (eager
// and cooperative balancers), sarama ConsumerGroup and kafka-go
// Reader{GroupID}. The KIP-848 protocol has its own tests.
package clienttest
