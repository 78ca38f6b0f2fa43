# shellcheck shell=bash
# e2e/lib/clients.bash: what the client checks in e2e/checks.d/3*-*.sh
# (kafkajs, kafka-python, confluent-kafka) share. They source it inside
# run.sh, so run.sh's helpers (run, produce, pass, fail, expect, errof, say)
# and $ADDR, $WORK and $BROKER_LOG are in scope.
#
# Each client has a script (e2e/js/*.js, e2e/py/*.py) with two modes:
#   run ADDR TOPIC OUTDIR   create TOPIC, produce, read back, list offsets;
#                           write OUTDIR/produced.txt (key|value|headers)
#   delete ADDR TOPIC       delete TOPIC, check it is gone
# printing one line per check, "ok<TAB>name" or "FAIL<TAB>name<TAB>detail"
# (detail's newlines as \n), which clients_run counts as the suite's checks.
# Between the two, clients_crosscheck reads TOPIC with kcat.

# shellcheck disable=SC2034 # used by the files that source this one
E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CLIENTS_KEYS=30 # the scripts' keys: key-0, key-7, ..., key-203
CLIENTS_REF_MAP=${CLIENTS_REF_MAP:-}
CLIENTS_APT_UPDATED=${CLIENTS_APT_UPDATED:-}

# clients_apt_install CLIENT PKG...: apt-get install PKGs, running apt-get
# update first (once per run), as run.sh does for kcat. A failure is a
# failed check named after CLIENT; returns 1 then.
clients_apt_install() {
	local client=$1 sudo="" log="$WORK/apt-clients.log"
	shift
	if [[ $(id -u) != 0 ]]; then sudo=sudo; fi
	say "e2e: installing $* with apt-get"
	if [[ -z $CLIENTS_APT_UPDATED ]]; then
		if ! $sudo apt-get update -qq >>"$log" 2>&1; then
			fail "$client: apt-get update" "$(tail -n 5 "$log")"
			return 1
		fi
		CLIENTS_APT_UPDATED=1
	fi
	if ! DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >>"$log" 2>&1; then
		fail "$client: apt-get install $*" "$(tail -n 5 "$log")"
		return 1
	fi
}

# clients_run CLIENT OUT CMD...: run a client script (as run does: 60 s
# limit, stdout to OUT, stderr to OUT.err) and count each of its result
# lines as a check. A script that breaks (exit status other than 0, or 1
# with a failed check) is a failed check too.
clients_run() {
	local client=$1 out=$2 status st name detail
	shift 2
	run "$out" "$@"
	status=$?
	while IFS=$'\t' read -r st name detail; do
		case $st in
		ok) pass "$name" ;;
		FAIL) fail "$name" "${detail//\\n/$'\n'}" ;;
		esac
	done <"$out"
	if ((status == 0)) || { ((status == 1)) && grep -q '^FAIL' "$out"; }; then
		return 0
	fi
	local why="exit status $status"
	((status == 124)) && why="killed at the 60 s limit"
	fail "$client: its check script ran to the end" "$why: $*" "$(errof "$out")"
	return 1
}

# clients_log_mark prints the broker log's current line count, for
# clients_log_clean.
clients_log_mark() { wc -l <"$BROKER_LOG"; }

# clients_log_clean CLIENT MARK: pass if the broker logged no warning or
# error since MARK, e.g. no connection closed over a request it could not
# decode or an API it does not serve (such as a group API sent anyway).
clients_log_clean() {
	local lines
	lines=$(tail -n +"$(($2 + 1))" "$BROKER_LOG" | grep -E 'level=(WARN|ERROR)')
	if [[ -z $lines ]]; then
		pass "$1: the broker logged no warning or error meanwhile"
	else
		fail "$1: the broker logged no warning or error meanwhile" "$(head -n 10 <<<"$lines")"
	fi
}

# clients_ref_map: once per run, produce the scripts' keys with strata
# produce (franz-go's default partitioner: murmur2, like the Java client)
# to a 3-partition topic and keep kcat's view of it as sorted "key
# partition" lines in $CLIENTS_REF_MAP.
clients_ref_map() {
	[[ -n $CLIENTS_REF_MAP ]] && return 0
	local o="$WORK/clients-ref.out" in i
	in=$(for ((i = 0; i < CLIENTS_KEYS; i++)); do say "key-$((i * 7)):ref-$i"; done)
	if ! run "$o" st topic create e2e-clients-ref --partitions 3 --replication-factor 1; then
		fail "strata topic create e2e-clients-ref" "$(errof "$o")"
		return 1
	fi
	produce "strata produce to e2e-clients-ref" "$in" st produce --topic e2e-clients-ref --key-separator : || return 1
	run "$o" kc -C -t e2e-clients-ref -o beginning -e -f '%k %p\n'
	sort "$o" >"$WORK/clients-ref.map"
	if [[ $(wc -l <"$WORK/clients-ref.map") -ne $CLIENTS_KEYS || $(cut -d' ' -f2 "$WORK/clients-ref.map" | sort -u | wc -l) -ne 3 ]]; then
		fail "kcat reads the $CLIENTS_KEYS reference keys over 3 partitions" "$(head -n 5 "$WORK/clients-ref.map")" "$(errof "$o")"
		return 1
	fi
	CLIENTS_REF_MAP="$WORK/clients-ref.map"
}

# clients_crosscheck CLIENT TOPIC PRODUCED: kcat reads TOPIC, which the
# client wrote. Each key must be in the partition strata produce puts it in
# (murmur2), and each partition must hold exactly the PRODUCED records of
# its keys (key|value|headers lines in produce order) at offsets 0.., in
# that order, with their headers.
clients_crosscheck() {
	local client=$1 topic=$2 produced=$3 o="$WORK/$1-kcat.out"
	clients_ref_map || return
	if ! run "$o" kc -C -t "$topic" -o beginning -e -f '%p|%o|%k|%s|%h\n'; then
		fail "$client: kcat -C $topic" "$(errof "$o")"
		return
	fi
	expect "$client: kcat finds each key in the partition strata produce (murmur2) puts it in" \
		"$(cat "$CLIENTS_REF_MAP")" "$(awk -F'|' '{print $3 " " $1}' "$o" | sort -u)"
	local want
	want=$(awk -F'|' '
		NR == FNR { split($0, a, " "); part[a[1]] = a[2]; next }
		{ p = ($1 in part) ? part[$1] : "?"; print p "|" n[p]++ "|" $0 }' "$CLIENTS_REF_MAP" "$produced" |
		sort -t'|' -k1,1 -k2,2n)
	expect "$client: kcat reads exactly what it produced, per partition in order, with headers" \
		"$want" "$(sort -t'|' -k1,1 -k2,2n "$o")"
}

# clients_batches CLIENT TOPIC WANT WHAT: pass if the record batches the
# client left in TOPIC's partition logs (read from the broker's data
# directory with e2e/py/batches.py) show exactly WANT, sorted distinct
# "codec plain|idempotent" lines: whether the client really compressed and
# whether its batches carry a producer id. WHAT names the check.
clients_batches() {
	local client=$1 topic=$2 want=$3 what=$4 o="$WORK/$1-batches.out"
	if ! run "$o" python3 -B "$E2E_DIR/py/batches.py" "$WORK/data/$topic"-*; then
		fail "$client: $what" "$(errof "$o")"
		return
	fi
	expect "$client: $what" "$want" "$(awk '{print $3, ($5 >= 0 ? "idempotent" : "plain")}' "$o" | sort -u)"
}
