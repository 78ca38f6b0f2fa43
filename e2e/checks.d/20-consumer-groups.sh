# shellcheck shell=bash
# Consumer groups with librdkafka's balanced consumer (kcat -G) and the
# strata CLI. Two kcat members share a 6-partition topic 3/3; one is killed
# with SIGKILL and the other owns all 6 once the session timeout evicts it;
# it is started again and they split 3/3 again. Every record is consumed
# exactly once over the whole run (each member commits every 200 ms and the
# kill happens only once everything read is committed, so a correct
# coordinator leaves nothing to re-read). `strata group describe` is the
# coordinator's view used to see who owns what, and then checks the
# committed offsets and lag; a third kcat member resumes from them. Last,
# kcat -G and strata consume --group share one group.

GRP_TOPIC=e2e-grp
GRP_GROUP=e2e-grp-g
GRP_SESSION_MS=6000 # Kafka's group.min.session.timeout.ms default
GRP_DIR="$WORK/groups"
GRP_PIDS=()

# grp_start NAME: a kcat -G member with client.id NAME, printing
# "partition offset value" lines to $GRP_DIR/NAME.out (appending, so a
# restarted member keeps one file).
grp_start() {
	"$KCAT" -b "$ADDR" -G "$GRP_GROUP" -X "client.id=$1" -X auto.offset.reset=earliest \
		-X "session.timeout.ms=$GRP_SESSION_MS" -X heartbeat.interval.ms=500 \
		-X auto.commit.interval.ms=200 -f '%p %o %s\n' -u "$GRP_TOPIC" \
		>>"$GRP_DIR/$1.out" 2>>"$GRP_DIR/$1.err" &
	GRP_PIDS+=($!)
	eval "GRP_PID_${1//-/_}=$!"
}

grp_stop_all() {
	local pid
	for pid in "${GRP_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for pid in "${GRP_PIDS[@]}"; do
		wait "$pid" 2>/dev/null
	done
	GRP_PIDS=()
}

# grp_members: "client-id #partitions" per member, sorted, from strata.
grp_members() {
	"$STRATA" group describe "$GRP_GROUP" --members --bootstrap-server "$ADDR" 2>/dev/null |
		awk 'NR > 1 { print $4, $5 }' | sort
}

# grp_wait_members NAME WANT SECONDS: wait until grp_members prints WANT;
# print the seconds it took, or return 1 with what it last saw.
grp_wait_members() {
	local name=$1 want=$2 limit=$3 start=$SECONDS got
	while ((SECONDS - start <= limit)); do
		got=$(grp_members)
		if [[ $got == "$want" ]]; then
			pass "$name (after $((SECONDS - start))s)"
			return 0
		fi
		sleep 0.2
	done
	fail "$name" "want: $want" "got: $got"
	return 1
}

# grp_produce TAG: 10 records per partition, "TAG-p<P>-<I>", with kcat.
grp_produce() {
	local p i
	for p in 0 1 2 3 4 5; do
		for ((i = 0; i < 10; i++)); do say "$1-p$p-$i"; done | "$KCAT" -b "$ADDR" -q -P -t "$GRP_TOPIC" -p "$p" ||
			fail "kcat -P $1 to partition $p"
	done
}

# grp_wait_consumed TAG SECONDS: wait until the members' outputs hold all
# 60 TAG records.
grp_wait_consumed() {
	local start=$SECONDS n
	while ((SECONDS - start <= $2)); do
		n=$(cat "$GRP_DIR"/*.out | awk '{print $3}' | grep -c "^$1-" )
		((n >= 60)) && return 0
		sleep 0.2
	done
	fail "the members consume all 60 $1 records within $2s" "got $n"
	return 1
}

# grp_partitions NAME TAG: the partitions NAME read TAG records from.
grp_partitions() {
	awk -v t="$2-" 'index($3, t) == 1 { print $1 }' "$GRP_DIR/$1.out" | sort -un | tr '\n' ' ' | sed 's/ $//'
}

# grp_lag_zero: strata group describe shows every partition committed with
# lag 0 (members commit every 200 ms).
grp_lag_zero() {
	local start=$SECONDS o="$WORK/grp-describe.out"
	while ((SECONDS - start <= 15)); do
		run "$o" st group describe "$GRP_GROUP"
		if [[ $(awk 'NR > 1 && $6 == "0"' "$o" | wc -l) -eq 6 ]]; then
			return 0
		fi
		sleep 0.2
	done
	fail "strata group describe: all 6 partitions committed with lag 0" "$(cat "$o")" "$(errof "$o")"
	return 1
}

check_consumer_groups() {
	mkdir -p "$GRP_DIR"
	if ! run "$WORK/grp-create.out" st topic create "$GRP_TOPIC" --partitions 6 --replication-factor 1; then
		fail "strata topic create $GRP_TOPIC" "$(errof "$WORK/grp-create.out")"
		return
	fi
	grp_start kcat-a
	grp_start kcat-b
	# The first join waits group.initial.rebalance.delay.ms (3 s).
	grp_wait_members "kcat -G: two members split 6 partitions 3/3" "$(printf 'kcat-a 3\nkcat-b 3')" 30 || { grp_stop_all; return; }
	grp_produce split
	grp_wait_consumed split 30
	local a b
	a=$(grp_partitions kcat-a split)
	b=$(grp_partitions kcat-b split)
	if [[ $(wc -w <<<"$a") -eq 3 && $(wc -w <<<"$b") -eq 3 && -z $(comm -12 <(tr ' ' '\n' <<<"$a" | sort) <(tr ' ' '\n' <<<"$b" | sort)) ]]; then
		pass "kcat -G: each member reads 3 partitions, disjoint (a: $a; b: $b)"
	else
		fail "kcat -G: each member reads 3 partitions, disjoint" "a: $a" "b: $b"
	fi

	grp_lag_zero
	# shellcheck disable=SC2154 # set by grp_start through eval
	kill -KILL "$GRP_PID_kcat_a"
	wait "$GRP_PID_kcat_a" 2>/dev/null
	# Eviction takes the session timeout, then one rebalance round.
	grp_wait_members "kcat -G: after kill -9 of one member, the other owns all 6 partitions" "kcat-b 6" $((GRP_SESSION_MS / 1000 + 5))
	grp_produce alone
	grp_wait_consumed alone 30
	expect "kcat -G: the survivor reads all 6 partitions" "0 1 2 3 4 5" "$(grp_partitions kcat-b alone)"

	grp_start kcat-a
	grp_wait_members "kcat -G: the restarted member rejoins, 3/3 again" "$(printf 'kcat-a 3\nkcat-b 3')" 30
	grp_produce rejoin
	grp_wait_consumed rejoin 30
	a=$(grp_partitions kcat-a rejoin)
	b=$(grp_partitions kcat-b rejoin)
	if [[ $(wc -w <<<"$a") -eq 3 && $(wc -w <<<"$b") -eq 3 ]]; then
		pass "kcat -G: after the rejoin each member reads 3 partitions (a: $a; b: $b)"
	else
		fail "kcat -G: after the rejoin each member reads 3 partitions" "a: $a" "b: $b"
	fi
	grp_lag_zero
	grp_stop_all

	# Exactly once: every record produced, consumed by exactly one member.
	local want got
	want=$(for t in split alone rejoin; do for p in 0 1 2 3 4 5; do for ((i = 0; i < 10; i++)); do say "$t-p$p-$i"; done; done; done | sort)
	got=$(cat "$GRP_DIR"/kcat-*.out | awk '{print $3}' | sort)
	expect "kcat -G: all 180 records consumed, none twice, none skipped" "$want" "$got"

	# The committed offsets: 30 per partition, lag 0.
	local o="$WORK/grp-describe.out"
	run "$o" st group describe "$GRP_GROUP"
	expect "strata group describe: each partition committed at 30, lag 0, no members" \
		"$(for p in 0 1 2 3 4 5; do say "$GRP_GROUP $GRP_TOPIC $p 30 30 0 - - -"; done)" \
		"$(awk 'NR > 1 { $1 = $1; print }' "$o")"

	# A new member resumes at the commits: after a reset of partition 0
	# to offset 25 it reads exactly the last 5 records there.
	run "$o" st group reset-offsets --group "$GRP_GROUP" --topic "$GRP_TOPIC:0" --to-offset 25 --execute
	check "kcat -G: a member resumes at the committed offsets (reset to 25 on partition 0)" \
		"$(for ((i = 5; i < 10; i++)); do say "0 $((20 + i)) rejoin-p0-$i"; done)" \
		kc -G "$GRP_GROUP" -X auto.offset.reset=earliest -e -f '%p %o %s\n' "$GRP_TOPIC"
}

# kcat -G and strata consume --group in one group: librdkafka's and
# franz-go's consumers agree on the classic protocol and split the topic.
check_mixed_group() {
	local group=e2e-grp-mix o="$WORK/grp-mix" spid kpid
	"$KCAT" -b "$ADDR" -G "$group" -X client.id=kcat-mix -X auto.offset.reset=earliest \
		-X "session.timeout.ms=$GRP_SESSION_MS" -X heartbeat.interval.ms=500 \
		-f '%p %s\n' -u "$GRP_TOPIC" >"$o.kcat" 2>"$o.kcat.err" &
	kpid=$!
	"$STRATA" consume --topic "$GRP_TOPIC" --group "$group" --from-beginning --print-partition --key-separator ' ' \
		--bootstrap-server "$ADDR" >"$o.strata" 2>"$o.strata.err" &
	spid=$!
	local start=$SECONDS got want
	want="$(printf 'kcat-mix 3\nstrata-cli 3')"
	while ((SECONDS - start <= 30)); do
		got=$("$STRATA" group describe "$group" --members --bootstrap-server "$ADDR" 2>/dev/null | awk 'NR > 1 { print $4, $5 }' | sort)
		[[ $got == "$want" ]] && break
		sleep 0.2
	done
	expect "kcat -G and strata consume --group in one group: 3 partitions each" "$want" "$got"
	if [[ $got == "$want" ]]; then
		grp_produce mix
		start=$SECONDS
		while ((SECONDS - start <= 30)); do
			(($(cat "$o.kcat" "$o.strata" | grep -c ' mix-') >= 60)) && break
			sleep 0.2
		done
		# Only the mix records count: both started at the earliest
		# offset and also read the records of the checks above.
		local kp sp all
		kp=$(grep ' mix-' "$o.kcat" | awk '{print $1}' | sort -u | tr '\n' ' ')
		sp=$(grep ' mix-' "$o.strata" | sed 's/^Partition://' | awk '{print $1}' | sort -u | tr '\n' ' ')
		all=$(cat "$o.kcat" "$o.strata" | grep ' mix-' | awk '{print $2}')
		expect "kcat -G and strata consume --group: 60 records, each once; kcat read 3 partitions, strata the other 3" \
			"60 60 3 3 0" \
			"$(grep -c . <<<"$all") $(sort -u <<<"$all" | grep -c .) $(wc -w <<<"$kp") $(wc -w <<<"$sp") $(comm -12 <(tr ' ' '\n' <<<"$kp" | sort) <(tr ' ' '\n' <<<"$sp" | sort) | grep -c .)"
	fi
	kill -INT "$spid" 2>/dev/null
	kill -TERM "$kpid" 2>/dev/null
	wait "$spid" "$kpid" 2>/dev/null
}

check_consumer_groups
check_mixed_group
