# shellcheck shell=bash
# confluent-kafka-python (Debian python3-confluent-kafka on the system
# librdkafka, installed with apt-get when missing; run under /usr/bin/python3
# for the reason given in 31-kafka-python.sh). The checks are in
# e2e/py/confluent_kafka_check.py: admin (create with a config, list,
# describe configs, delete), keyed produce with headers asking for all four
# codecs and acks all/1/0 plus the idempotent producer
# (partitioner=murmur2_random), a Consumer reading it all back with assign()
# (it needs a group.id, but joins no group), two group Consumers
# (subscribe, commit, resume at the commit), and list offsets (watermarks,
# by time). Then kcat checks what it wrote, the batches on disk show what
# librdkafka really sent, and the broker log stays free of warnings.
#
# Compression: librdkafka before 2.10 enables gzip, snappy and lz4 only if
# the broker advertises Produce v0 (confluentinc/librdkafka#4956). Strata,
# like Kafka 4.0 (KAFKA-18659), advertises Produce from v0 while refusing
# v0-v2, so those codecs are enabled; lz4 also needs FindCoordinator
# advertised (librdkafka's LZ4 feature test), which it is since consumer
# groups exist. So every codec arrives compressed, as the check of the
# batches on disk pins down.
# shellcheck source=SCRIPTDIR/../lib/clients.bash
source "$(dirname "${BASH_SOURCE[0]}")/../lib/clients.bash"

confluent_kafka_checks() {
	local py="$E2E_DIR/py" out="$WORK/confluent-kafka" topic=e2e-confluent-kafka-keyed mark
	if ! /usr/bin/python3 -c 'import confluent_kafka' 2>/dev/null; then
		clients_apt_install confluent-kafka python3-confluent-kafka || return
	fi
	say "e2e: using confluent-kafka $(/usr/bin/python3 -c 'import confluent_kafka as c; print(c.version()[0] + ", librdkafka " + c.libversion()[0])') on $(/usr/bin/python3 --version)"
	mark=$(clients_log_mark)
	clients_run confluent-kafka "$out.run" /usr/bin/python3 -B "$py/confluent_kafka_check.py" run "$ADDR" "$topic" "$out"
	if [[ -s $out/produced.txt ]]; then
		clients_crosscheck confluent-kafka "$topic" "$out/produced.txt"
		# Every codec compressed: see the note above. librdkafka sends a
		# batch uncompressed when compressing would not shrink it, which
		# happens to a batch of one short record (seen when the machine
		# is busy and batches come out small), so such batches may be
		# "none"; any other uncompressed batch fails the check.
		local b="$WORK/confluent-kafka-batches.out"
		if run "$b" python3 -B "$E2E_DIR/py/batches.py" "$WORK/data/$topic"-*; then
			expect "confluent-kafka: on disk, gzip, lz4, snappy and zstd batches compressed (zstd idempotent)" \
				"$(printf 'gzip plain\nlz4 plain\nsnappy plain\nzstd idempotent')" \
				"$(awk '!($3 == "none" && $4 == 1) {print $3, ($5 >= 0 ? "idempotent" : "plain")}' "$b" | sort -u)"
		else
			fail "confluent-kafka: batches on disk" "$(errof "$b")"
		fi
	fi
	clients_run confluent-kafka "$out.delete" /usr/bin/python3 -B "$py/confluent_kafka_check.py" delete "$ADDR" "$topic"
	clients_log_clean confluent-kafka "$mark"
}

confluent_kafka_checks
