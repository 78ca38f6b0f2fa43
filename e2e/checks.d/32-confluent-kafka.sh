# shellcheck shell=bash
# confluent-kafka-python (Debian python3-confluent-kafka on the system
# librdkafka, installed with apt-get when missing; run under /usr/bin/python3
# for the reason given in 31-kafka-python.sh). The checks are in
# e2e/py/confluent_kafka_check.py: admin (create with a config, list,
# describe configs, delete), keyed produce with headers asking for all four
# codecs and acks all/1/0 plus the idempotent producer
# (partitioner=murmur2_random), a Consumer reading it all back with assign()
# (it needs a group.id, but joins no group), and list offsets (watermarks,
# by time). Then kcat checks what it wrote, the batches on disk show what
# librdkafka really sent, and the broker log shows that no group request
# came (librdkafka sees FindCoordinator is not advertised and does not ask).
#
# Compression: librdkafka 2.0.2 (Debian bookworm's, also kcat's) compresses
# only zstd against Strata and sends gzip, snappy and lz4 batches
# uncompressed, logging "Broker does not support compression type gzip: not
# compressing batch" (debug=msg). Its rd_kafka_msgset_writer_select_MsgVersion
# asks whether the broker serves Produce somewhere in v0..v0 for gzip, snappy
# and lz4 (v0..v7 for zstd); Strata serves Produce v3-v10, so the answer is
# no. That is a librdkafka bug (confluentinc/librdkafka#4956), which Kafka 4.0
# works around in the broker by still advertising Produce v0-v2 while
# refusing them (KAFKA-18659). lz4 needs FindCoordinator advertised as well
# (librdkafka's LZ4 feature test). The records still arrive intact; the check
# of the batches on disk pins down exactly this, and needs updating if the
# broker's ApiVersions changes.
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
		# librdkafka 2.0.2 compresses only zstd here: see the note above.
		clients_batches confluent-kafka "$topic" "$(printf 'none plain\nzstd idempotent')" \
			"on disk, zstd batches compressed and idempotent; gzip, snappy, lz4 sent uncompressed"
	fi
	clients_run confluent-kafka "$out.delete" /usr/bin/python3 -B "$py/confluent_kafka_check.py" delete "$ADDR" "$topic"
	clients_log_clean confluent-kafka "$mark"
}

confluent_kafka_checks
