package config

import "testing"

func TestReplicaConfigDefaults(t *testing.T) {
	b, err := NewBroker(nil)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{ // Kafka's defaults
		ReplicaLagTimeMaxMs:          30000,
		ReplicaFetchMaxBytes:         1048576,
		ReplicaFetchMinBytes:         1,
		ReplicaFetchWaitMaxMs:        500,
		ReplicaFetchBackoffMs:        1000,
		ReplicaFetchResponseMaxBytes: 10485760,
		NumReplicaFetchers:           1,
		ReplicaSocketTimeoutMs:       30000,
	}
	for name, v := range want {
		if got := b.Int(name); got != v {
			t.Errorf("%s = %d, want %d", name, got, v)
		}
	}
	if _, err := NewBroker(map[string]string{NumReplicaFetchers: "0"}); err == nil {
		t.Error("num.replica.fetchers=0 accepted")
	}
}
