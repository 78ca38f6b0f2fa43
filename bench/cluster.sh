#!/usr/bin/env bash
# cluster.sh measures what replication costs on one machine (issue 5): a
# 3-broker cluster (RF=3, acks=all) against one broker (acks=1), 1 KiB
# records, alternating single/cluster REPS times; then end-to-end latency
# through the cluster at a moderate rate. A measurement, not a test: it
# prints figures and fails only if a broker misbehaves.
#
#   bash bench/cluster.sh
#
# REPS (3), RECORDS (500000), PARTITIONS (8), PRODUCERS (8), E2E_RATE
# (5000 records/s), E2E_DURATION (20s) and E2E_REPS (3) tune it; DIR picks
# the disk.
# Not part of `go test ./...` or CI.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
REPS=${REPS:-3}
RECORDS=${RECORDS:-500000}
PARTITIONS=${PARTITIONS:-8}
PRODUCERS=${PRODUCERS:-8}
E2E_RATE=${E2E_RATE:-5000}
E2E_DURATION=${E2E_DURATION:-20s}
E2E_REPS=${E2E_REPS:-3}
DIR=${DIR:-$(mktemp -d "${TMPDIR:-/tmp}/strata-cluster.XXXXXX")}
mkdir -p "$DIR"
bin="$DIR/strata"
(cd "$root" && go build -o "$bin" ./cmd/strata)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap cleanup EXIT

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM, $(uname -sr); load: $(cut -d' ' -f1-3 /proc/loadavg)"

freeport() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

waitready() { # log file
	for _ in $(seq 1 300); do grep -q 'broker ready' "$1" 2>/dev/null && return 0; sleep 0.1; done
	echo "broker did not start; its log:" >&2
	cat "$1" >&2
	return 1
}

# start_single / start_cluster set boot to the bootstrap list. They run in
# this shell (never in $(...)), so pids reaches cleanup.
start_single() {
	local d=$1 p
	p=$(freeport)
	"$bin" server --listen "127.0.0.1:$p" --data-dir "$d/data" 2>"$d/log" &
	pids+=($!)
	waitready "$d/log"
	boot="127.0.0.1:$p"
}

start_cluster() {
	local d=$1 i voters=""
	boot=""
	local -a kp cp
	for i in 1 2 3; do
		kp[i]=$(freeport)
		cp[i]=$(freeport)
		voters+="${voters:+,}$i@127.0.0.1:${cp[i]}"
		boot+="${boot:+,}127.0.0.1:${kp[i]}"
	done
	for i in 1 2 3; do
		"$bin" server --node-id "$i" --listen "127.0.0.1:${kp[i]}" --controller-listen "127.0.0.1:${cp[i]}" \
			--voters "$voters" --data-dir "$d/data$i" 2>"$d/log$i" &
		pids+=($!)
	done
	for i in 1 2 3; do waitready "$d/log$i"; done
}

stop_all() {
	cleanup
	pids=()
}

produce() { # bootstrap acks rf
	"$bin" bench produce --bootstrap-server "$1" --records "$RECORDS" --record-size 1024 --acks "$2" \
		--replication-factor "$3" --producers "$PRODUCERS" --partitions "$PARTITIONS" --quiet --json 2>/dev/null |
		sed -E 's/.*"records_per_s":([0-9.]+).*/\1/' | cut -d. -f1
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

echo
echo "== 1 KiB records, $RECORDS per run, $PRODUCERS producers, $PARTITIONS partitions: one broker acks=1 vs 3 brokers RF=3 acks=all, $REPS runs each, alternating"
: >"$DIR/single" && : >"$DIR/cluster"
for i in $(seq 1 "$REPS"); do
	d=$(mktemp -d "$DIR/run.XXXXXX")
	start_single "$d"
	s=$(produce "$boot" 1 1)
	stop_all
	rm -rf "$d"
	echo "$s" >>"$DIR/single"
	d=$(mktemp -d "$DIR/run.XXXXXX")
	start_cluster "$d"
	c=$(produce "$boot" all 3)
	stop_all
	rm -rf "$d"
	echo "$c" >>"$DIR/cluster"
	echo "  run $i: one broker acks=1 $s records/s, 3 brokers RF=3 acks=all $c records/s; load $(cut -d' ' -f1 /proc/loadavg)"
done
s=$(median <"$DIR/single")
c=$(median <"$DIR/cluster")
echo "median: one broker acks=1 $s records/s, 3 brokers RF=3 acks=all $c records/s = $(awk -v s="$s" -v c="$c" 'BEGIN {printf "%.0f%%", 100*c/s}')"

echo
echo "== end-to-end latency through 3 brokers, RF=3, acks=all, 1 KiB records at $E2E_RATE records/s for $E2E_DURATION, $E2E_REPS runs"
for i in $(seq 1 "$E2E_REPS"); do
	d=$(mktemp -d "$DIR/run.XXXXXX")
	start_cluster "$d"
	"$bin" bench e2e --bootstrap-server "$boot" --rate "$E2E_RATE" --duration "$E2E_DURATION" --record-size 1024 \
		--acks all --replication-factor 3 --partitions "$PARTITIONS" --topic strata-e2e --quiet 2>&1 | grep 'latency' | sed "s/^ */  run $i: /"
	stop_all
	rm -rf "$d"
done
rm -rf "$DIR"
