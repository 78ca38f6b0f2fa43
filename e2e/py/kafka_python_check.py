"""kafka-python against a Strata broker, for e2e/checks.d/31-kafka-python.sh.

    /usr/bin/python3 kafka_python_check.py run    ADDR TOPIC OUTDIR
    /usr/bin/python3 kafka_python_check.py delete ADDR TOPIC

"run": KafkaAdminClient creates TOPIC (3 partitions, retention.ms) and
lists/describes it; KafkaProducer sends the same keyed records with headers
three times (acks=all with gzip, acks=1, acks=0; default partitioner, which
is murmur2 like Java's); a KafkaConsumer with group_id=None reads them back
with assign() and seek_to_beginning(), so no group API is used; then list
offsets (beginning_offsets, end_offsets, offsets_for_times); then two
KafkaConsumers of one group (subscribe) read, commit and resume. "delete" runs
after the shell's kcat cross-checks of OUTDIR/produced.txt.
"""

import logging
import time

from e2echeck import Checks, as_line, check_read_back, main, now_ms, records, write_produced
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, OffsetAndMetadata, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, NewTopic

CLIENT = "kafka-python"
RETENTION_MS = "3600000"
# (label, acks, compression)
MODES = [("acks-all-gzip", "all", "gzip"), ("acks-1", 1, None), ("acks-0", 0, None)]
COMMON = dict(client_id="strata-e2e-kafka-python", request_timeout_ms=15000)

logging.basicConfig(level=logging.CRITICAL)  # kafka-python logs reconnects at ERROR


def run(addr, topic, outdir):
    c = Checks(CLIENT)
    admin = c.step("KafkaAdminClient connects", KafkaAdminClient, bootstrap_servers=addr, **COMMON)
    if admin is None:
        return c
    try:
        run_with(c, admin, addr, topic, outdir)
    finally:
        admin.close()
    return c


def run_with(c, admin, addr, topic, outdir):
    name = "create_topics with 3 partitions and retention.ms"
    resp = c.step(name, admin.create_topics, [NewTopic(topic, 3, 1, topic_configs={"retention.ms": RETENTION_MS})])
    if resp is None:
        return
    c.expect(name, [(topic, 0)], [(t[0], t[1]) for t in resp.topic_errors])

    topics = c.step("list_topics", admin.list_topics)
    if topics is not None:
        c.expect("list_topics includes the new topic", True, topic in topics)

    desc = c.step("describe_topics", admin.describe_topics, [topic])
    if desc is not None:
        c.expect(
            "describe_topics shows 3 partitions with a leader",
            [(0, 0, True), (1, 0, True), (2, 0, True)],
            sorted((p["partition"], p["error_code"], p["leader"] >= 0) for p in desc[0]["partitions"]),
        )

    cfg = c.step(
        "describe_configs",
        admin.describe_configs,
        [ConfigResource(ConfigResourceType.TOPIC, topic, configs={"retention.ms": None})],
    )
    if cfg is not None:
        # resources: (error_code, error_message, type, name, [(name, value, read_only, ...)])
        res = cfg[0].resources[0]
        value = {e[0]: e[1] for e in res[4]}.get("retention.ms")
        c.expect("describe_configs shows retention.ms as created", (0, RETENTION_MS), (res[0], value))

    # --- produce ---
    produced = []
    between_ms = 0
    for label, acks, compression in MODES:
        if label == "acks-1":
            time.sleep(0.005)
            between_ms = now_ms()
            time.sleep(0.005)
        name = f"KafkaProducer sends {len(records(CLIENT, label))} keyed records with headers, {label}"
        producer = c.step(
            name, KafkaProducer, bootstrap_servers=addr, acks=acks, compression_type=compression, linger_ms=5, **COMMON
        )
        if producer is None:
            continue
        try:
            futures = []
            for k, v, h in records(CLIENT, label):
                futures.append(producer.send(topic, key=k.encode(), value=v.encode(), headers=h))
                produced.append(as_line(k, v, h))
            producer.flush(timeout=15)
            metas = [f.get(timeout=15) for f in futures]
            parts = {m.partition for m in metas}
            # acks=0 gets no offsets back (-1); the others get real ones.
            offsets_known = all((m.offset >= 0) == (acks != 0) for m in metas)
            c.expect(name, (3, True), (len(parts), offsets_known))
        except Exception as e:  # noqa: BLE001
            c.fail(name, repr(e))
        finally:
            producer.close(timeout=5)
    write_produced(outdir, produced)

    # --- consume without a group ---
    consumer = c.step(
        "KafkaConsumer(group_id=None)",
        KafkaConsumer,
        bootstrap_servers=addr,
        group_id=None,
        enable_auto_commit=False,
        fetch_max_wait_ms=100,
        **COMMON,
    )
    if consumer is None:
        return
    try:
        tps = [TopicPartition(topic, p) for p in range(3)]
        consumer.assign(tps)
        consumer.seek_to_beginning()
        ends = {}
        deadline = time.time() + 10
        while time.time() < deadline:  # acks=0 has no response: wait for it to land
            ends = consumer.end_offsets(tps)
            if sum(ends.values()) >= len(produced):
                break
            time.sleep(0.1)
        got = {p: [] for p in range(3)}
        deadline = time.time() + 15
        while time.time() < deadline and sum(len(v) for v in got.values()) < sum(ends.values()):
            for tp, msgs in consumer.poll(timeout_ms=500).items():
                got[tp.partition] += [
                    (m.offset, m.key.decode(), m.value.decode(), [(k, v) for k, v in m.headers]) for m in msgs
                ]
        check_read_back(c, produced, got)
        counts = {p: len(got[p]) for p in range(3)}

        # --- list offsets ---
        c.expect(
            "beginning_offsets / end_offsets: 0 and records read, per partition",
            {p: (0, counts[p]) for p in range(3)},
            {tp.partition: (consumer.beginning_offsets(tps)[tp], ends[tp]) for tp in tps},
        )
        by_time = consumer.offsets_for_times({tp: between_ms for tp in tps})
        c.expect(
            "offsets_for_times(T between batches) finds the first record after T",
            {p: counts[p] // len(MODES) for p in range(3)},
            {tp.partition: (o.offset if o else None) for tp, o in by_time.items()},
        )
        future = consumer.offsets_for_times({tp: now_ms() + 3_600_000 for tp in tps})
        c.expect(
            "offsets_for_times(future) finds nothing (None)",
            {p: None for p in range(3)},
            {tp.partition: o for tp, o in future.items()},
        )
    finally:
        consumer.close()
    group_consume(c, addr, topic, produced, counts)


def group_consume(c, addr, topic, produced, counts):
    """A KafkaConsumer in a group (subscribe: FindCoordinator, JoinGroup,
    SyncGroup, Heartbeat, OffsetFetch, OffsetCommit, LeaveGroup) reads
    everything, commits the offset 5 records before each partition's end and
    leaves; a second one in the same group resumes at the commit and so
    reads exactly those last 5 records per partition."""
    group = "strata-e2e-kafka-python"
    kw = dict(
        bootstrap_servers=addr,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        fetch_max_wait_ms=100,
        session_timeout_ms=10000,
        heartbeat_interval_ms=500,
        **COMMON,
    )

    def read(consumer, want):
        got = {p: [] for p in range(3)}
        deadline = time.time() + 30
        while time.time() < deadline and sum(len(v) for v in got.values()) < want:
            for tp, msgs in consumer.poll(timeout_ms=500).items():
                got[tp.partition] += [as_line(m.key.decode(), m.value.decode(), m.headers) for m in msgs]
        return got

    tps = [TopicPartition(topic, p) for p in range(3)]
    consumer = c.step("KafkaConsumer(group_id=...) subscribes", KafkaConsumer, topic, **kw)
    if consumer is None:
        return
    tails = None
    try:
        got = read(consumer, len(produced))
        c.expect(
            f"group consumer reads every produced record exactly once ({len(produced)})",
            sorted(produced),
            sorted(line for p in got for line in got[p]),
        )
        c.expect("group consumer owns all 3 partitions", [0, 1, 2], sorted(tp.partition for tp in consumer.assignment()))
        consumer.commit({tp: OffsetAndMetadata(counts[tp.partition] - 5, "") for tp in tps})
        tails = sorted(line for p in got for line in got[p][-5:])
    except Exception as e:  # noqa: BLE001
        c.fail("group consumer", repr(e))
    finally:
        consumer.close()
    if tails is None:
        return

    consumer = c.step("a second group consumer subscribes", KafkaConsumer, topic, **kw)
    if consumer is None:
        return
    try:
        c.expect(
            "committed(): the offsets the first group consumer committed",
            {p: counts[p] - 5 for p in range(3)},
            {tp.partition: consumer.committed(tp) for tp in tps},
        )
        got = read(consumer, 15)
        c.expect("the second group consumer resumes at the commit: the last 5 records of each partition", tails, sorted(line for p in got for line in got[p]))
    except Exception as e:  # noqa: BLE001
        c.fail("second group consumer", repr(e))
    finally:
        consumer.close()


def delete(addr, topic):
    c = Checks(CLIENT)
    admin = c.step("KafkaAdminClient connects", KafkaAdminClient, bootstrap_servers=addr, **COMMON)
    if admin is None:
        return c
    try:
        resp = c.step("delete_topics", admin.delete_topics, [topic])
        if resp is not None:
            c.expect("delete_topics", [(topic, 0)], [tuple(t[:2]) for t in resp.topic_error_codes])
        topics = c.step("list_topics after delete", admin.list_topics)
        if topics is not None:
            c.expect("list_topics no longer lists the deleted topic", False, topic in topics)
    finally:
        admin.close()
    return c


if __name__ == "__main__":
    main(run, delete)
