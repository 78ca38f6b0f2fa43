"""confluent-kafka-python (librdkafka) against a Strata broker, for
e2e/checks.d/32-confluent-kafka.sh.

    /usr/bin/python3 confluent_kafka_check.py run    ADDR TOPIC OUTDIR
    /usr/bin/python3 confluent_kafka_check.py delete ADDR TOPIC

"run": AdminClient creates TOPIC (3 partitions, retention.ms) and
lists/describes it; Producer sends the same keyed records with headers four
times, one per codec and acks mode (gzip acks=all, snappy acks=1, lz4 acks=0,
zstd acks=all idempotent; librdkafka 2.0.2 really compresses only the zstd
ones against Strata, see 32-confluent-kafka.sh), with
partitioner=murmur2_random (librdkafka's Java-compatible one; its default,
consistent_random, hashes with CRC-32); a
Consumer reads them back with assign(), never subscribe(); then list offsets
(get_watermark_offsets, offsets_for_times). "delete" runs after the shell's
kcat cross-checks of OUTDIR/produced.txt.

The Python binding refuses to create a Consumer without group.id ("group.id
must be set"), so one is given; assign() joins no group and commits
nothing. Then two Consumers with subscribe() share a group: the second
resumes where the first committed.
"""

import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, NewTopic
from e2echeck import Checks, as_line, check_read_back, main, now_ms, records, write_produced

CLIENT = "confluent-kafka"
RETENTION_MS = "3600000"
# (label, producer config): one codec each, acks all/1/0, and librdkafka's
# idempotent producer on the last.
MODES = [
    ("gzip-acks-all", {"compression.type": "gzip", "acks": "all"}),
    ("snappy-acks-1", {"compression.type": "snappy", "acks": "1"}),
    ("lz4-acks-0", {"compression.type": "lz4", "acks": "0"}),
    ("zstd-acks-all-idempotent", {"compression.type": "zstd", "acks": "all", "enable.idempotence": True}),
]
TIMEOUT = 15


def base(addr):
    return {"bootstrap.servers": addr, "client.id": "strata-e2e-confluent-kafka", "socket.timeout.ms": 10000}


def done(c, name, future):
    """Wait for an admin future whose result is None; count check NAME."""
    if future is None:
        return False  # the call that makes it already failed the check
    try:
        future.result(TIMEOUT)
    except Exception as e:  # noqa: BLE001
        c.fail(name, repr(e))
        return False
    c.ok(name)
    return True


def run(addr, topic, outdir):
    c = Checks(CLIENT)
    admin = AdminClient(base(addr))

    name = "create_topics with 3 partitions and retention.ms"
    fs = c.step(name, admin.create_topics, [NewTopic(topic, 3, 1, config={"retention.ms": RETENTION_MS})],
                operation_timeout=10)
    if not done(c, name, fs and fs[topic]):
        return c

    md = c.step("list_topics", admin.list_topics, timeout=TIMEOUT)
    if md is not None:
        t = md.topics.get(topic)
        c.expect(
            "list_topics shows the topic with 3 partitions, each with a leader",
            [(0, True), (1, True), (2, True)],
            sorted((p.id, p.leader >= 0 and p.error is None) for p in t.partitions.values()) if t else None,
        )

    fs = c.step("describe_configs", admin.describe_configs, [ConfigResource("topic", topic)])
    if fs is not None:
        entries = c.step("describe_configs", list(fs.values())[0].result, TIMEOUT)
        if entries is not None:
            e = entries.get("retention.ms")
            c.expect("describe_configs shows retention.ms as created", RETENTION_MS, e.value if e else None)

    # --- produce ---
    produced = []
    between_ms = 0
    for label, conf in MODES:
        if label == MODES[1][0]:
            time.sleep(0.005)
            between_ms = now_ms()
            time.sleep(0.005)
        recs = records(CLIENT, label)
        name = f"Producer sends {len(recs)} keyed records with headers, {label}"
        reports = []
        try:
            p = Producer({**base(addr), "partitioner": "murmur2_random", "linger.ms": 5, **conf})
            for k, v, h in recs:
                p.produce(topic, key=k, value=v, headers=h,
                          on_delivery=lambda err, msg: reports.append((err, msg.partition(), msg.offset())))
                produced.append(as_line(k, v, h))
            left = p.flush(TIMEOUT)
            errs = [str(e) for e, _, _ in reports if e is not None]
            # acks=0 learns no offsets (None); the others do.
            acked = conf["acks"] != "0"
            offsets_known = all((off is not None and off >= 0) == acked for _, _, off in reports)
            c.expect(name, (0, len(recs), [], 3, True),
                     (left, len(reports), errs[:3], len({pt for _, pt, _ in reports}), offsets_known))
        except KafkaException as e:
            c.fail(name, repr(e))
    write_produced(outdir, produced)

    # --- consume with assign(), no group membership ---
    name = "Consumer with assign() reads the topic"
    try:
        cons = Consumer({
            **base(addr),
            "group.id": "strata-e2e-confluent-unused",  # required by the binding; never joined
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            "fetch.wait.max.ms": 100,
        })
    except KafkaException as e:
        c.fail(name, repr(e))
        return c
    try:
        tps = [TopicPartition(topic, p) for p in range(3)]
        ends = {}
        deadline = time.time() + 10
        while time.time() < deadline:  # acks=0 has no response: wait for it to land
            ends = {tp.partition: cons.get_watermark_offsets(tp, timeout=TIMEOUT) for tp in tps}
            if sum(h for _, h in ends.values()) >= len(produced):
                break
            time.sleep(0.1)
        cons.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(3)])
        got = {p: [] for p in range(3)}
        want = sum(h for _, h in ends.values())
        deadline = time.time() + TIMEOUT
        errors = []
        while time.time() < deadline and sum(len(v) for v in got.values()) < want:
            for m in cons.consume(num_messages=500, timeout=0.5):
                if m.error():
                    errors.append(str(m.error()))
                    continue
                got[m.partition()].append(
                    (m.offset(), m.key().decode(), m.value().decode(), m.headers() or []))
        c.expect("consume() reports no errors", [], errors[:5])
        check_read_back(c, produced, got)
        counts = {p: len(got[p]) for p in range(3)}

        # --- list offsets ---
        c.expect(
            "get_watermark_offsets: low 0 and high = records read, per partition",
            {p: (0, counts[p]) for p in range(3)},
            ends,
        )
        by_time = cons.offsets_for_times([TopicPartition(topic, p, between_ms) for p in range(3)], timeout=TIMEOUT)
        c.expect(
            "offsets_for_times(T between batches) finds the first record after T",
            {p: counts[p] // len(MODES) for p in range(3)},
            {tp.partition: tp.offset for tp in by_time},
        )
        future = cons.offsets_for_times([TopicPartition(topic, p, now_ms() + 3_600_000) for p in range(3)],
                                        timeout=TIMEOUT)
        c.expect(
            "offsets_for_times(future) gives OFFSET_END (-1)",
            {p: -1 for p in range(3)},
            {tp.partition: tp.offset for tp in future},
        )
    finally:
        cons.close()
    group_consume(c, addr, topic, produced, counts)
    return c


def group_consume(c, addr, topic, produced, counts):
    """Consumers with subscribe() (librdkafka's balanced consumer: JoinGroup,
    SyncGroup, Heartbeat, OffsetFetch, OffsetCommit, LeaveGroup): the first
    reads everything and commits 5 records before each partition's end; a
    second in the same group resumes there and reads exactly the last 5 of
    each partition; committed() shows the commit."""
    conf = {
        **base(addr),
        "group.id": "strata-e2e-confluent-group",
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "session.timeout.ms": 10000,
        "fetch.wait.max.ms": 100,
    }

    def read(cons, want):
        got = {p: [] for p in range(3)}
        deadline = time.time() + 30
        while time.time() < deadline and sum(len(v) for v in got.values()) < want:
            for m in cons.consume(num_messages=500, timeout=0.5):
                if not m.error():
                    got[m.partition()].append(as_line(m.key().decode(), m.value().decode(), m.headers() or []))
        return got

    tails = None
    try:
        cons = Consumer(conf)
        cons.subscribe([topic])
        got = read(cons, len(produced))
        c.expect(f"subscribe(): a group consumer reads every produced record exactly once ({len(produced)})",
                 sorted(produced), sorted(line for p in got for line in got[p]))
        c.expect("subscribe(): the one member owns all 3 partitions", [0, 1, 2],
                 sorted(tp.partition for tp in cons.assignment()))
        cons.commit(offsets=[TopicPartition(topic, p, counts[p] - 5) for p in range(3)], asynchronous=False)
        tails = sorted(line for p in got for line in got[p][-5:])
        cons.close()
    except KafkaException as e:
        c.fail("subscribe(): group consumer", repr(e))
        return
    try:
        cons = Consumer(conf)
        committed = cons.committed([TopicPartition(topic, p) for p in range(3)], timeout=TIMEOUT)
        c.expect("committed(): the offsets the first group consumer committed",
                 {p: counts[p] - 5 for p in range(3)}, {tp.partition: tp.offset for tp in committed})
        cons.subscribe([topic])
        got = read(cons, 15)
        c.expect("a second group consumer resumes at the commit: the last 5 records of each partition",
                 tails, sorted(line for p in got for line in got[p]))
        cons.close()
    except KafkaException as e:
        c.fail("second group consumer", repr(e))


def delete(addr, topic):
    c = Checks(CLIENT)
    admin = AdminClient(base(addr))
    fs = c.step("delete_topics", admin.delete_topics, [topic], operation_timeout=10)
    done(c, "delete_topics", fs and fs[topic])
    md = c.step("list_topics after delete", admin.list_topics, timeout=TIMEOUT)
    if md is not None:
        c.expect("list_topics no longer lists the deleted topic", False, topic in md.topics)
    return c


if __name__ == "__main__":
    main(run, delete)
