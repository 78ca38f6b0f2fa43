#!/usr/bin/env bash
# scale.sh measures one Strata broker's scale and durability figures
# (issue 4): many partitions (memory, descriptors, restart), recovery after
# kill -9, and fsync-before-ack throughput with group commit. Each part is
# a measurement, not a test: it prints figures and fails only if the broker
# misbehaves.
#
#   bash bench/scale.sh              # everything (~15 minutes)
#   bash bench/scale.sh fsync        # fsync-before-ack vs page cache only
#   bash bench/scale.sh partitions   # 10,000 partitions (STRATA_SCALE_PARTITIONS)
#   bash bench/scale.sh recovery     # kill -9 with 5 GB (STRATA_SCALE_RECOVERY_MB)
#
# REPS (3) sets the fsync repetitions, RECORDS (500000) their size; DIR
# (a temporary directory) the data directories' parent, which decides the
# disk measured. Not part of `go test ./...` or CI.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
what=${1:-all}
REPS=${REPS:-3}
RECORDS=${RECORDS:-500000}
DIR=${DIR:-$(mktemp -d "${TMPDIR:-/tmp}/strata-scale.XXXXXX")}
mkdir -p "$DIR"
bin="$DIR/strata"
(cd "$root" && go build -o "$bin" ./cmd/strata)

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo) RAM, $(uname -sr); load: $(cut -d' ' -f1-3 /proc/loadavg); ulimit -n $(ulimit -n)"
echo "disk: $(df -h "$DIR" | awk 'NR==2 {print $1, $2 " total,", $4 " free"}')"

scale_test() { # name, extra env...
	local name=$1
	shift
	(cd "$root" && env STRATA_SCALE=1 "$@" go test -count=1 -timeout 60m -run "^$name\$" -v ./internal/crashtest) |
		grep -E '^(\s+\S+_test\.go:[0-9]+:|--- |ok|FAIL)' | sed -E 's/^\s+\S+_test\.go:[0-9]+: /  /'
}

# produce runs one broker and `strata bench produce` of RECORDS 1 KiB
# records, acks=all, 8 producers on 8 partitions; it prints records/s and,
# with fsync-before-ack, the broker's group commit counters.
produce() { # server flags...
	local d addr pid out
	d=$(mktemp -d "$DIR/run.XXXXXX")
	"$bin" server --listen 127.0.0.1:0 --data-dir "$d/data" "$@" 2>"$d/log" &
	pid=$!
	for _ in $(seq 1 300); do grep -q ready "$d/log" 2>/dev/null && break; sleep 0.1; done
	addr=$(grep -m1 'broker ready' "$d/log" | grep -o 'addr=[0-9.:]*' | head -1 | cut -d= -f2)
	out=$("$bin" bench produce --bootstrap-server "$addr" --records "$RECORDS" --record-size 1024 \
		--acks all --producers 8 --partitions 8 --quiet --json ${BENCH_ARGS:-} 2>/dev/null)
	kill -TERM "$pid"
	wait "$pid" || true
	printf '%s %s\n' "$(sed -E 's/.*"records_per_s":([0-9.]+).*/\1/' <<<"$out" | cut -d. -f1)" \
		"$(grep -o 'appends_per_fsync=[0-9.]*' "$d/log" | cut -d= -f2 | cut -c1-5)"
	rm -rf "$d"
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }

if [[ $what == all || $what == fsync ]]; then
	echo
	echo "== fsync before ack: 1 KiB records, acks=all, 8 producers, 8 partitions, $RECORDS records, $REPS runs each, alternating"
	dd if=/dev/zero of="$DIR/dd" bs=1M count=1000 conv=fdatasync 2>&1 | tail -1 | sed 's/^/dd bs=1M count=1000 conv=fdatasync: /'
	rm -f "$DIR/dd"
	: >"$DIR/plain" && : >"$DIR/synced" && : >"$DIR/per"
	for i in $(seq 1 "$REPS"); do
		read -r rps _ < <(produce)
		echo "$rps" >>"$DIR/plain"
		read -r srps per < <(produce --override log.flush.interval.messages=1)
		echo "$srps" >>"$DIR/synced"
		echo "${per:-0}" >>"$DIR/per"
		echo "  run $i: page cache $rps records/s, fsync before ack $srps records/s ($per appends per fsync); load $(cut -d' ' -f1 /proc/loadavg)"
	done
	p=$(median <"$DIR/plain")
	s=$(median <"$DIR/synced")
	echo "median: page cache $p records/s, fsync before ack $s records/s = $(awk -v s="$s" -v p="$p" 'BEGIN {printf "%.0f%%", 100*s/p}'), $(median <"$DIR/per") appends per fsync"
fi
if [[ $what == all || $what == partitions ]]; then
	echo
	echo "== ${STRATA_SCALE_PARTITIONS:-10000} partitions"
	scale_test TestScaleManyPartitions
fi
if [[ $what == all || $what == recovery ]]; then
	echo
	echo "== recovery after kill -9 with ${STRATA_SCALE_RECOVERY_MB:-5000} MB"
	scale_test TestScaleRecovery
fi
rm -rf "$DIR"
