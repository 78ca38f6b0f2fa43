#!/usr/bin/env bash
# e2e/run.sh: cross-client end-to-end checks of a real `strata server`.
#
# It builds strata, starts one broker on a free loopback port with a fresh
# data directory, and drives it with kcat (librdkafka, a non-Go client) and
# with strata's own CLI, checking that each reads exactly what the other
# wrote. It installs kcat itself (Debian package kcat, else kafkacat) when it
# is missing. Every check prints "ok" or "FAIL" with what differed; the last
# line is "N passed, N failed"; the exit status is non-zero if any failed.
#
# Later checks plug in through e2e/checks.d/*.sh (see the README there),
# e.g. consumer groups with kcat -G (20-consumer-groups.sh).
#
# Usage: bash e2e/run.sh          (from anywhere; no arguments, no stdin)
#   E2E_KEEP=1  keep the work directory (broker log, data) for a post-mortem
set -uo pipefail # not -e: a failing check is counted, not fatal

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/strata-e2e.XXXXXX")
STRATA="$WORK/strata"
BROKER_LOG="$WORK/broker.log"
BROKER_PID=""
ADDR=""
PASSED=0
FAILED=0

say() { printf '%s\n' "$*"; }
die() {
	say "e2e: $*" >&2
	FAILED=$((FAILED + 1))
	exit 1 # the EXIT trap stops the broker and prints the tally
}

cleanup() {
	local status=$?
	if [[ -n "$BROKER_PID" ]] && kill -0 "$BROKER_PID" 2>/dev/null; then
		kill -KILL "$BROKER_PID" 2>/dev/null
		wait "$BROKER_PID" 2>/dev/null
	fi
	if ((FAILED > 0)) && [[ -s "$BROKER_LOG" ]]; then
		say "--- last 40 lines of the broker log ($BROKER_LOG) ---"
		tail -n 40 "$BROKER_LOG"
	fi
	if [[ -n "${E2E_KEEP:-}" ]]; then
		say "e2e: work directory kept: $WORK"
	else
		rm -rf "$WORK"
	fi
	say "$PASSED passed, $FAILED failed"
	if ((status == 0 && FAILED > 0)); then status=1; fi
	exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- check helpers -----------------------------------------------------------

pass() {
	PASSED=$((PASSED + 1))
	say "ok   $1"
}

# fail NAME [DETAIL...]: count a failure and print the details indented.
fail() {
	FAILED=$((FAILED + 1))
	say "FAIL $1"
	shift
	local line
	for line in "$@"; do
		printf '%s\n' "$line" | sed 's/^/       /'
	done
}

# expect NAME WANT GOT: pass if the two texts are equal, else show a diff.
expect() {
	if [[ "$2" == "$3" ]]; then
		pass "$1"
	else
		fail "$1" "$(diff <(printf '%s\n' "$2") <(printf '%s\n' "$3") | head -n 20)" "(< want, > got)"
	fi
}

# run OUTFILE CMD...: run CMD with a time limit, stdout to OUTFILE, stderr
# to OUTFILE.err; returns CMD's status (124 on timeout). CMD "kc" is kcat
# against the broker, quiet (no "% Reached end" lines); "st" is the strata
# CLI against the broker.
run() {
	local out=$1
	shift
	local cmd=("$@")
	case $1 in
	kc) cmd=("$KCAT" -b "$ADDR" -q "${@:2}") ;;
	st) cmd=("$STRATA" "${@:2}" --bootstrap-server "$ADDR") ;;
	esac
	timeout 60 "${cmd[@]}" >"$out" 2>"$out.err"
}

# errof OUTFILE: the last lines of a command's stderr, for failure messages.
errof() { tail -n 5 "$1.err" 2>/dev/null; }

# check NAME WANT CMD...: run CMD (as run does, kc/st allowed); pass if it
# exits 0 and prints exactly WANT. An empty WANT therefore means "printed
# nothing and did not fail", never "failed quietly".
check() {
	local name=$1 want=$2 o="$WORK/check.out" status
	shift 2
	run "$o" "$@"
	status=$?
	if ((status != 0)); then
		fail "$name" "exit status $status from: $*" "$(errof "$o")"
		return
	fi
	expect "$name" "$want" "$(cat "$o")"
}

# check_fails NAME CMD...: pass if CMD exits non-zero (but not by the time
# limit, which is a hang, not a refusal).
check_fails() {
	local name=$1 o="$WORK/check.out" status
	shift
	run "$o" "$@"
	status=$?
	case $status in
	0) fail "$name" "succeeded: $*" "$(head -n 3 "$o")" ;;
	124) fail "$name" "timed out instead of failing: $*" ;;
	*) pass "$name" ;;
	esac
}

# --- tools -------------------------------------------------------------------

install_kcat() {
	if command -v kcat >/dev/null; then
		KCAT=kcat
		return
	fi
	if command -v kafkacat >/dev/null; then
		KCAT=kafkacat
		return
	fi
	local sudo=""
	if [[ $(id -u) != 0 ]]; then sudo=sudo; fi
	say "e2e: installing kcat with apt-get"
	$sudo apt-get update -qq >"$WORK/apt.log" 2>&1 || die "apt-get update failed: $(tail -n 5 "$WORK/apt.log")"
	if DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq kcat >>"$WORK/apt.log" 2>&1; then
		KCAT=kcat
	elif DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq kafkacat >>"$WORK/apt.log" 2>&1; then
		KCAT=kafkacat
	else
		die "could not install kcat or kafkacat: $(tail -n 5 "$WORK/apt.log")"
	fi
}

build_strata() {
	say "e2e: building strata"
	(cd "$ROOT" && go build -o "$STRATA" ./cmd/strata) || die "go build ./cmd/strata failed"
}

# free_port prints a loopback port nothing listens on (bash's /dev/tcp
# connect fails on it).
free_port() {
	local port i
	for ((i = 0; i < 100; i++)); do
		port=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			say "$port"
			return
		fi
	done
	die "no free port found"
}

start_broker() {
	ADDR="127.0.0.1:$(free_port)"
	say "e2e: starting strata server on $ADDR"
	"$STRATA" server --listen "$ADDR" --data-dir "$WORK/data" >"$BROKER_LOG" 2>&1 &
	BROKER_PID=$!
	local i
	for ((i = 0; i < 300; i++)); do
		if grep -q "ready.*$ADDR\|$ADDR.*ready" "$BROKER_LOG" 2>/dev/null; then
			pass "broker logs a ready line with its address"
			return
		fi
		kill -0 "$BROKER_PID" 2>/dev/null || die "strata server exited before it was ready: $(tail -n 20 "$BROKER_LOG")"
		sleep 0.1
	done
	die "strata server logged no ready line with $ADDR within 30s: $(tail -n 20 "$BROKER_LOG")"
}

# --- the checks ----------------------------------------------------------------

# seq_lines PREFIX N: PREFIX0..PREFIX{N-1}, one per line.
seq_lines() {
	local i
	for ((i = 0; i < $2; i++)); do say "$1$i"; done
}

# produce NAME INPUT CMD...: feed INPUT to a producing CMD; pass quietly,
# or count a failure and return 1 so the caller skips what depends on it.
produce() {
	local name=$1 input=$2 o="$WORK/produce.out"
	shift 2
	if printf '%s\n' "$input" | run "$o" "$@"; then
		return 0
	fi
	fail "$name" "exit status $? from: $*" "$(errof "$o")"
	return 1
}

check_topics() {
	local t
	check "strata topic create e2e-plain --partitions 3" "Created topic e2e-plain." \
		st topic create e2e-plain --partitions 3 --replication-factor 1
	for t in e2e-keyed-kcat e2e-keyed-strata e2e-interop-a e2e-interop-b e2e-gzip e2e-snappy e2e-lz4 e2e-zstd; do
		run "$WORK/create.out" st topic create "$t" --partitions 3 --replication-factor 1 ||
			fail "strata topic create $t" "$(errof "$WORK/create.out")"
	done
	check_fails "strata topic create of an existing topic fails" st topic create e2e-plain --partitions 1

	local o="$WORK/out"
	if run "$o" st topic describe e2e-plain; then
		# The describe format is the CLI's; require each partition named.
		local p missing=""
		for p in 0 1 2; do grep -Eiq "partition[^0-9]*\b$p\b" "$o" || missing+=" $p"; done
		if [[ -z "$missing" ]]; then
			pass "strata topic describe e2e-plain shows 3 partitions"
		else
			fail "strata topic describe e2e-plain shows 3 partitions" "partitions not found:$missing" "$(head -n 10 "$o")"
		fi
	else
		fail "strata topic describe e2e-plain" "$(errof "$o")"
	fi

	if run "$o" st topic list && grep -qx "e2e-plain" "$o" && grep -qx "e2e-zstd" "$o"; then
		pass "strata topic list includes the new topics"
	else
		fail "strata topic list includes the new topics" "$(head -n 12 "$o")" "$(errof "$o")"
	fi

	if run "$o" kc -L; then
		local port=${ADDR##*:}
		if grep -Eq "^ *1 brokers:" "$o" && grep -Eq "broker -?[0-9]+ at 127\.0\.0\.1:$port" "$o"; then
			pass "kcat -L lists the one broker at $ADDR"
		else
			fail "kcat -L lists the one broker at $ADDR" "$(head -n 8 "$o")"
		fi
		if grep -q 'topic "e2e-plain" with 3 partitions' "$o" && [[ $(grep -c 'topic "e2e-' "$o") -eq 9 ]]; then
			pass "kcat -L lists the 9 topics, e2e-plain with 3 partitions"
		else
			fail "kcat -L lists the 9 topics, e2e-plain with 3 partitions" "$(grep topic "$o" | head -n 12)"
		fi
	else
		fail "kcat -L" "$(errof "$o")"
	fi
}

check_plain_partition() {
	local want
	want=$(seq_lines plain- 10)
	produce "kcat -P -p 1" "$want" kc -P -t e2e-plain -p 1 || return
	check "kcat -C -o beginning -e reads partition 1 back exactly" "$want" kc -C -t e2e-plain -p 1 -o beginning -e
	check "partition 0 stays empty" "" kc -C -t e2e-plain -p 0 -o beginning -e
	check "partition 2 stays empty" "" kc -C -t e2e-plain -p 2 -o beginning -e
	check "kcat -C -o 4 starts at offset 4" "$(seq_lines plain- 10 | tail -n 6)" kc -C -t e2e-plain -p 1 -o 4 -e
	check "kcat -C -o -3 reads the last 3" "$(seq_lines plain- 10 | tail -n 3)" kc -C -t e2e-plain -p 1 -o -3 -e
	check "kcat -f shows topic, partition, offset, null key, value" \
		"$(printf 'e2e-plain|1|0||plain-0\ne2e-plain|1|1||plain-1')" \
		kc -C -t e2e-plain -p 1 -o beginning -e -c 2 -f '%t|%p|%o|%k|%s\n'
	check_fails "kcat -C of partition 7 of a 3-partition topic fails" kc -C -t e2e-plain -p 7 -o beginning -e
}

# Keys: kcat with -X partitioner=murmur2_random (librdkafka's Java-compatible
# partitioner; its default, consistent_random, is CRC-32) must place every
# key where strata produce (murmur2, like the Java client) does.
check_keys() {
	local in i
	in=$(for ((i = 0; i < 40; i++)); do say "key-$((i * 7)):value-$i"; done)
	produce "kcat -P -K: (murmur2_random)" "$in" kc -P -t e2e-keyed-kcat -K: -X partitioner=murmur2_random || return
	produce "strata produce --key-separator :" "$in" st produce --topic e2e-keyed-strata --key-separator ':' || return

	local a="$WORK/keys-kcat" b="$WORK/keys-strata"
	run "$a" kc -C -t e2e-keyed-kcat -o beginning -e -f '%k:%s\n'
	expect "kcat reads back every key:value kcat wrote" "$(sort <<<"$in")" "$(sort "$a")"
	run "$a" kc -C -t e2e-keyed-kcat -o beginning -e -f '%k %p\n'
	run "$b" kc -C -t e2e-keyed-strata -o beginning -e -f '%k %p\n'
	if [[ $(wc -l <"$a") -eq 40 && $(cut -d' ' -f2 "$a" | sort -u | wc -l) -eq 3 ]]; then
		expect "kcat (murmur2_random) and strata produce put each key in the same partition" "$(sort "$a")" "$(sort "$b")"
	else
		fail "kcat (murmur2_random) and strata produce put each key in the same partition" \
			"kcat side: $(wc -l <"$a") records over $(cut -d' ' -f2 "$a" | sort -u | wc -l) partitions, want 40 over 3"
	fi
	# Within a partition, records keep the order they were produced in.
	run "$b" kc -C -t e2e-keyed-strata -o beginning -e -f '%p %s\n'
	local p ordered=yes
	for p in 0 1 2; do
		grep "^$p " "$b" | cut -d' ' -f2 | sed 's/value-//' | sort -nc 2>/dev/null || ordered=no
	done
	expect "strata produce keeps per-partition order" yes "$ordered"
}

check_compression() {
	local codec want i
	want=$(for ((i = 0; i < 200; i++)); do say "k$i:compressible value $i $(printf 'abc%.0s' {1..40})"; done)
	for codec in gzip snappy lz4 zstd; do
		produce "kcat -P -z $codec" "$want" kc -P -t "e2e-$codec" -p 0 -K: -z "$codec" || continue
		check "kcat -z $codec: kcat reads back all 200 in order" "$want" \
			kc -C -t "e2e-$codec" -p 0 -o beginning -e -f '%k:%s\n'
		check "kcat -z $codec: strata consume reads back all 200 in order" "$want" \
			st consume --topic "e2e-$codec" --partition 0 --offset earliest --max-messages 200 \
			--timeout-ms 10000 --print-key --key-separator ':'
		# What librdkafka really stored. It enables gzip/snappy/lz4 only
		# if Produce v0 is advertised (Strata does, as Kafka 4.0, see
		# internal/handlers/produce.go); lz4 also needs FindCoordinator
		# advertised, which it is since consumer groups exist.
		local stored=$codec
		expect "kcat -z $codec: batches stored with codec $stored" "$stored" \
			"$(python3 -B "$ROOT/e2e/py/batches.py" "$WORK/data/e2e-$codec-0" | awk '{print $3}' | sort -u)"
	done
	# The other way: strata produce compresses, kcat reads.
	for codec in gzip snappy lz4 zstd; do
		produce "strata produce --compression $codec" "$want" \
			st produce --topic "e2e-$codec" --partition 1 --compression "$codec" --key-separator ':' || continue
		check "strata produce --compression $codec: kcat reads back all 200" "$want" \
			kc -C -t "e2e-$codec" -p 1 -o beginning -e -f '%k:%s\n'
	done
}

# Interop without compression: each tool reads what the other wrote, with
# offsets, via formats both can print.
check_interop() {
	local want i
	want=$(for ((i = 0; i < 25; i++)); do say "id$i:payload $i"; done)
	if produce "kcat -P -p 2 -K:" "$want" kc -P -t e2e-interop-a -p 2 -K:; then
		check "kcat -P, strata consume --from-beginning: same 25 records" "$want" \
			st consume --topic e2e-interop-a --from-beginning --max-messages 25 --timeout-ms 10000 \
			--print-key --key-separator ':'
		check "strata consume --offset 20 --print-offset --print-partition" \
			"$(for ((i = 20; i < 25; i++)); do say "Partition:2|Offset:$i|id$i|payload $i"; done)" \
			st consume --topic e2e-interop-a --partition 2 --offset 20 --max-messages 5 --timeout-ms 10000 \
			--print-offset --print-partition --print-key --key-separator '|'
	fi

	if produce "strata produce --partition 0" "$want" st produce --topic e2e-interop-b --partition 0 --key-separator ':'; then
		check "strata produce, kcat -C -f '%o %k:%s': same 25 records at offsets 0-24" \
			"$(i=0; while IFS= read -r l; do say "$i $l"; i=$((i + 1)); done <<<"$want")" \
			kc -C -t e2e-interop-b -p 0 -o beginning -e -f '%o %k:%s\n'
		local o="$WORK/out"
		run "$o" st consume --topic e2e-interop-b --partition 0 --offset 3 --max-messages 2 --timeout-ms 10000 --format json
		if grep -q '"offset":3' "$o" && grep -q '"key":"id3"' "$o" && grep -q '"value":"payload 4"' "$o" && [[ $(wc -l <"$o") -eq 2 ]]; then
			pass "strata consume --format json shows offsets 3 and 4 with key and value"
		else
			fail "strata consume --format json shows offsets 3 and 4 with key and value" "$(cat "$o")" "$(errof "$o")"
		fi
	fi
}

# librdkafka's idempotent producer (InitProducerId, sequence numbers) and
# record headers, each read back by kcat and by strata consume.
check_idempotence_and_headers() {
	local want
	want=$(seq_lines idem- 100)
	run "$WORK/create.out" st topic create e2e-idem --partitions 2 --replication-factor 1 ||
		fail "strata topic create e2e-idem" "$(errof "$WORK/create.out")"
	if produce "kcat -P -X enable.idempotence=true" "$want" kc -P -t e2e-idem -p 1 -X enable.idempotence=true; then
		check "kcat idempotent producer: kcat reads back all 100 in order" "$want" kc -C -t e2e-idem -p 1 -o beginning -e
	fi

	if produce "kcat -P -H a=1 -H b=two" "with-headers" kc -P -t e2e-idem -p 0 -H a=1 -H b=two; then
		check "kcat -f %h shows the headers kcat wrote" "a=1,b=two|with-headers" \
			kc -C -t e2e-idem -p 0 -o beginning -e -f '%h|%s\n'
		check "strata consume --print-headers shows the headers kcat wrote" "a:1,b:two	with-headers" \
			st consume --topic e2e-idem --partition 0 --offset earliest --max-messages 1 --timeout-ms 10000 --print-headers
	fi
}

# Offsets by timestamp: records produced after time T, and only they, are
# found by kcat -o s@T and strata consume --from-timestamp T (ListOffsets
# by time through librdkafka and franz-go).
check_timestamps() {
	local t_ms first second
	first=$(seq_lines early- 5)
	second=$(seq_lines late- 5)
	run "$WORK/create.out" st topic create e2e-time --partitions 1 --replication-factor 1 ||
		fail "strata topic create e2e-time" "$(errof "$WORK/create.out")"
	produce "kcat -P (before T)" "$first" kc -P -t e2e-time -p 0 || return
	sleep 0.05 # T strictly after the first batch's timestamps (ms clock)
	t_ms=$(($(date +%s%N) / 1000000))
	sleep 0.05
	produce "kcat -P (after T)" "$second" kc -P -t e2e-time -p 0 || return
	check "kcat -C -o s@T reads only what was produced after T" "$second" kc -C -t e2e-time -p 0 -o "s@$t_ms" -e
	check "strata consume --from-timestamp T reads only what was produced after T" "$second" \
		st consume --topic e2e-time --from-timestamp "$t_ms" --max-messages 5 --timeout-ms 10000
}

# The broker must stop cleanly on SIGTERM, and keep its data across a
# restart on the same directory.
check_restart() {
	kill -TERM "$BROKER_PID"
	local i status=""
	for ((i = 0; i < 200; i++)); do
		if ! kill -0 "$BROKER_PID" 2>/dev/null; then
			wait "$BROKER_PID"
			status=$?
			break
		fi
		sleep 0.1
	done
	if [[ -z "$status" ]]; then
		fail "strata server exits within 20s of SIGTERM"
		kill -KILL "$BROKER_PID" 2>/dev/null
		wait "$BROKER_PID" 2>/dev/null
	else
		expect "strata server exits 0 on SIGTERM" 0 "$status"
	fi
	BROKER_PID=""
	start_broker_on "$ADDR"
	check "after a clean restart kcat reads partition 1 back exactly" "$(seq_lines plain- 10)" \
		kc -C -t e2e-plain -p 1 -o beginning -e
	check "after a clean restart kcat reads the zstd topic back" \
		"$(for ((i = 0; i < 200; i++)); do say "k$i:compressible value $i $(printf 'abc%.0s' {1..40})"; done)" \
		kc -C -t e2e-zstd -p 0 -o beginning -e -f '%k:%s\n'
}

start_broker_on() {
	ADDR=$1
	"$STRATA" server --listen "$ADDR" --data-dir "$WORK/data" >>"$BROKER_LOG" 2>&1 &
	BROKER_PID=$!
	local i
	for ((i = 0; i < 300; i++)); do
		if [[ $(grep -c "ready.*$ADDR\|$ADDR.*ready" "$BROKER_LOG") -ge 2 ]]; then
			pass "broker restarts on the same data directory"
			return
		fi
		kill -0 "$BROKER_PID" 2>/dev/null || die "restarted strata server exited before it was ready"
		sleep 0.1
	done
	die "restarted strata server logged no ready line within 30s"
}

# Hook for checks that arrive with later features: every e2e/checks.d/*.sh
# is sourced here, after the built-in checks, with the helpers above
# (run with kc/st, expect, pass, fail) and $ADDR available. See
# e2e/checks.d/README.md.
run_hooked_checks() {
	local f
	for f in "$ROOT"/e2e/checks.d/*.sh; do
		[[ -e "$f" ]] || continue
		say "e2e: checks from ${f#"$ROOT"/}"
		# shellcheck source=/dev/null
		source "$f"
	done
}

main() {
	install_kcat
	say "e2e: using $KCAT ($("$KCAT" -V 2>&1 | head -n 1))"
	build_strata
	start_broker
	check_topics
	check_plain_partition
	check_keys
	check_compression
	check_interop
	check_timestamps
	check_idempotence_and_headers
	run_hooked_checks
	check_restart
}

main
