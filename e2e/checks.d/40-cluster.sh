# shellcheck shell=bash
# A 3-broker cluster with kcat (librdkafka): three `strata server`
# processes started with the README's flags (--node-id, --listen,
# --controller-listen, --voters, --data-dir), a topic with RF=3 and
# min.insync.replicas=2, records produced with kcat -X acks=all, the
# leader of partition 0 killed with SIGKILL, more records produced with
# acks=all (librdkafka retries to the new leader), and everything read back
# with kcat: every record exactly once, in order. Then the killed broker is
# started again and must rejoin the ISR; the records read back the same.
# The cluster's brokers are separate from run.sh's broker; this file stops
# them itself.

CLU_DIR="$WORK/cluster"
CLU_TOPIC=e2e-cluster
CLU_PIDS=()
CLU_ADDRS=()
CLU_CTRL=()
CLU_VOTERS=""
CLU_BOOT=""

# clu_start N: start broker N (1-based) on its fixed ports and data dir.
clu_start() {
	local i=$1
	"$STRATA" server --node-id "$i" --listen "${CLU_ADDRS[i]}" --controller-listen "${CLU_CTRL[i]}" \
		--voters "$CLU_VOTERS" --data-dir "$CLU_DIR/node-$i" >>"$CLU_DIR/node-$i.log" 2>&1 &
	CLU_PIDS[i]=$!
}

# clu_wait_ready N RUNS: wait until broker N has logged RUNS ready lines.
clu_wait_ready() {
	local i=$1 runs=$2 n k
	for ((k = 0; k < 600; k++)); do
		n=$(grep -c "ready.*${CLU_ADDRS[i]}\b" "$CLU_DIR/node-$i.log" 2>/dev/null)
		((n >= runs)) && return 0
		kill -0 "${CLU_PIDS[i]}" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

clu_stop_all() {
	local i
	for i in 1 2 3; do
		[[ -n "${CLU_PIDS[i]:-}" ]] && kill -KILL "${CLU_PIDS[i]}" 2>/dev/null
	done
	for i in 1 2 3; do
		[[ -n "${CLU_PIDS[i]:-}" ]] && wait "${CLU_PIDS[i]}" 2>/dev/null
	done
	CLU_PIDS=()
}

clu_fail_logs() {
	local i
	for i in 1 2 3; do
		say "--- last 15 lines of $CLU_DIR/node-$i.log ---"
		tail -n 15 "$CLU_DIR/node-$i.log" 2>/dev/null
	done
}

# clu_leader P: the leader of partition P as `strata topic describe` shows it.
clu_leader() {
	"$STRATA" topic describe "$CLU_TOPIC" --bootstrap-server "$CLU_BOOT" 2>/dev/null |
		awk -v p="$1" '$0 ~ "Partition: " p "\t" { for (i = 1; i <= NF; i++) if ($i == "Leader:") print $(i + 1) }'
}

# clu_wait_isr SECONDS: wait until no partition is under-replicated.
clu_wait_isr() {
	local start=$SECONDS out
	while ((SECONDS - start <= $1)); do
		out=$("$STRATA" topic describe "$CLU_TOPIC" --under-replicated-partitions --bootstrap-server "$CLU_BOOT" 2>&1) &&
			[[ -z "$out" ]] && return 0
		sleep 0.5
	done
	say "$out"
	return 1
}

clu_main() {
	local i o="$WORK/cluster.out"
	mkdir -p "$CLU_DIR"
	for i in 1 2 3; do
		CLU_ADDRS[i]="127.0.0.1:$(free_port)"
		CLU_CTRL[i]="127.0.0.1:$(free_port)"
	done
	CLU_VOTERS="1@${CLU_CTRL[1]},2@${CLU_CTRL[2]},3@${CLU_CTRL[3]}"
	CLU_BOOT="${CLU_ADDRS[1]},${CLU_ADDRS[2]},${CLU_ADDRS[3]}"
	for i in 1 2 3; do clu_start "$i"; done
	for i in 1 2 3; do
		if ! clu_wait_ready "$i" 1; then
			fail "cluster: broker $i logs a ready line" "$(tail -n 20 "$CLU_DIR/node-$i.log")"
			clu_stop_all
			return
		fi
	done
	pass "cluster: three brokers started with --node-id/--listen/--controller-listen/--voters/--data-dir are ready"

	if ! run "$o" "$STRATA" topic create "$CLU_TOPIC" --partitions 3 --replication-factor 3 \
		--config min.insync.replicas=2 --bootstrap-server "$CLU_BOOT"; then
		fail "cluster: strata topic create --replication-factor 3" "$(errof "$o")"
		clu_fail_logs
		clu_stop_all
		return
	fi
	if run "$o" "$KCAT" -b "$CLU_BOOT" -q -L && grep -Eq "^ *3 brokers:" "$o"; then
		pass "cluster: kcat -L lists 3 brokers"
	else
		fail "cluster: kcat -L lists 3 brokers" "$(head -n 6 "$o")" "$(errof "$o")"
	fi

	local before after
	before=$(seq_lines before- 200)
	after=$(seq_lines after- 200)
	if ! printf '%s\n' "$before" | run "$o" "$KCAT" -b "$CLU_BOOT" -q -P -t "$CLU_TOPIC" -p 0 -X acks=all; then
		fail "cluster: kcat -P -X acks=all" "$(errof "$o")"
		clu_fail_logs
		clu_stop_all
		return
	fi
	local leader
	leader=$(clu_leader 0)
	if [[ ! "$leader" =~ ^[123]$ ]]; then
		fail "cluster: strata topic describe names partition 0's leader" "got '$leader'"
		clu_stop_all
		return
	fi
	kill -KILL "${CLU_PIDS[leader]}"
	wait "${CLU_PIDS[leader]}" 2>/dev/null
	CLU_PIDS[leader]=""
	local killed_at=$SECONDS
	if printf '%s\n' "$after" | run "$o" "$KCAT" -b "$CLU_BOOT" -q -P -t "$CLU_TOPIC" -p 0 -X acks=all; then
		pass "cluster: kcat -X acks=all goes on after the leader ($leader) was killed ($((SECONDS - killed_at))s)"
	else
		fail "cluster: kcat -X acks=all goes on after the leader ($leader) was killed" "$(errof "$o")"
	fi
	local new
	new=$(clu_leader 0)
	if [[ "$new" =~ ^[123]$ && "$new" != "$leader" ]]; then
		pass "cluster: partition 0 has a new leader ($new)"
	else
		fail "cluster: partition 0 has a new leader" "leader was $leader, now '$new'"
	fi
	check "cluster: kcat reads back every acknowledged record once, in order" "$before"$'\n'"$after" \
		"$KCAT" -b "$CLU_BOOT" -q -C -t "$CLU_TOPIC" -p 0 -o beginning -e

	clu_start "$leader"
	if clu_wait_ready "$leader" 2 && clu_wait_isr 60; then
		pass "cluster: the killed broker restarts and rejoins every ISR"
	else
		fail "cluster: the killed broker restarts and rejoins every ISR" "$(tail -n 10 "$CLU_DIR/node-$leader.log")"
	fi
	check "cluster: the records read back the same after the restart" "$before"$'\n'"$after" \
		"$KCAT" -b "$CLU_BOOT" -q -C -t "$CLU_TOPIC" -p 0 -o beginning -e
	if ((FAILED > 0)); then clu_fail_logs; fi
	clu_stop_all
}

clu_main
