# shellcheck shell=bash
# kafka-python 2.0 (Debian python3-kafka, installed with apt-get when
# missing). Debian's packages are for Debian's interpreter, so the script runs
# under /usr/bin/python3, not whichever python3 is first on PATH. The checks
# are in e2e/py/kafka_python_check.py: admin (create with a config, list,
# describe, describe configs, delete), keyed produce with headers (acks=all
# with gzip, acks=1, acks=0; murmur2 partitioner), a group-less
# KafkaConsumer (group_id=None, assign, seek_to_beginning) reading it all
# back, list offsets (beginning, end, by time), and two group KafkaConsumers
# (subscribe) of which the second resumes at the first one's commit. Then
# kcat checks what kafka-python wrote.
# shellcheck source=SCRIPTDIR/../lib/clients.bash
source "$(dirname "${BASH_SOURCE[0]}")/../lib/clients.bash"

kafka_python_checks() {
	local py="$E2E_DIR/py" out="$WORK/kafka-python" topic=e2e-kafka-python-keyed mark
	if ! /usr/bin/python3 -c 'import kafka' 2>/dev/null; then
		clients_apt_install kafka-python python3-kafka || return
	fi
	say "e2e: using kafka-python $(/usr/bin/python3 -c 'import kafka; print(kafka.__version__)') on $(/usr/bin/python3 --version)"
	mark=$(clients_log_mark)
	clients_run kafka-python "$out.run" /usr/bin/python3 -B "$py/kafka_python_check.py" run "$ADDR" "$topic" "$out"
	if [[ -s $out/produced.txt ]]; then
		clients_crosscheck kafka-python "$topic" "$out/produced.txt"
		clients_batches kafka-python "$topic" "$(printf 'gzip plain\nnone plain')" \
			"on disk, the acks=all batches are gzip, the others uncompressed"
	fi
	clients_run kafka-python "$out.delete" /usr/bin/python3 -B "$py/kafka_python_check.py" delete "$ADDR" "$topic"
	clients_log_clean kafka-python "$mark"
}

kafka_python_checks
