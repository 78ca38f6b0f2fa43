// kafkajs against a Strata broker, for e2e/checks.d/30-kafkajs.sh.
//
//   node kafkajs_check.js run    ADDR TOPIC OUTDIR
//   node kafkajs_check.js delete ADDR TOPIC
//
// "run" creates TOPIC (3 partitions, retention.ms), produces keyed records
// with headers three times (acks=all with gzip, acks=1, acks=0), reads them
// back, checks the admin views and list offsets, and writes
// OUTDIR/produced.txt (key|value|headers in produce order) so the shell side
// can check with kcat that each record sits where Java's murmur2 puts it.
// "delete" deletes TOPIC and checks that it is gone; it runs after the
// shell's kcat cross-checks.
//
// Every check prints one line, "ok<TAB>name" or "FAIL<TAB>name<TAB>detail"
// (newlines in detail escaped as \n); the shell turns them into the suite's
// ok/FAIL lines.
//
// Reading back: through kafkajs's public group Consumer (consumer.run with a
// groupId: FindCoordinator, JoinGroup, SyncGroup, Heartbeat, OffsetFetch,
// OffsetCommit, LeaveGroup), then the group's committed offsets, listing,
// describing and deleting it with the admin client. The fetch path is also
// read directly through kafkajs's own Cluster and Broker classes
// (src/cluster, Broker#fetch), to check offsets and order per partition
// without a group. Those are kafkajs internals, not its public API; the
// version is pinned by package-lock.json, so a kafkajs upgrade that moves
// them fails here loudly rather than silently testing less.
'use strict'

const fs = require('fs')
const path = require('path')
const { Kafka, CompressionTypes, logLevel } = require('kafkajs')
const Cluster = require('kafkajs/src/cluster')
const defaultSocketFactory = require('kafkajs/src/network/socketFactory')

const [mode, addr, topic, outDir] = process.argv.slice(2)
const KEYS = 30 // distinct keys, each produced once per acks mode
const MODES = [
  // [label, acks, compression]
  ['acks-all-gzip', -1, CompressionTypes.GZIP],
  ['acks-1', 1, CompressionTypes.None],
  ['acks-0', 0, CompressionTypes.None],
]
const RETENTION_MS = '3600000'

let failed = 0
const ok = name => console.log(`ok\tkafkajs: ${name}`)
const fail = (name, detail) => {
  failed++
  console.log(`FAIL\tkafkajs: ${name}\t${String(detail).replace(/\n/g, '\\n')}`)
}
const expectEq = (name, want, got) => {
  const w = JSON.stringify(want)
  const g = JSON.stringify(got)
  if (w === g) ok(name)
  else fail(name, `want ${w.slice(0, 600)}\ngot  ${g.slice(0, 600)}`)
}
// check runs one named step; an exception fails it (and returns undefined).
const check = async (name, fn) => {
  try {
    return await fn()
  } catch (e) {
    fail(name, `${e.name}: ${e.message}`)
    return undefined
  }
}
const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))

const kafka = new Kafka({
  clientId: 'strata-e2e-kafkajs',
  brokers: [addr],
  logLevel: logLevel.NOTHING,
  // Fail fast: a check that needs retries against one local broker is broken.
  retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1000 },
  connectionTimeout: 3000,
  requestTimeout: 10000,
})

const headerText = headers =>
  Object.keys(headers || {})
    .sort()
    .map(k => `${k}=${headers[k] == null ? '' : headers[k].toString()}`)
    .join(',')

// fetchAll reads every record of the topic's partitions from offset 0 to
// the high watermark through kafkajs's Broker#fetch; returns
// {partition: [{offset, key, value, headers}]}.
async function fetchAll(partitions) {
  const cluster = new Cluster({
    logger: kafka.logger(),
    brokers: [addr],
    socketFactory: defaultSocketFactory(),
    clientId: 'strata-e2e-kafkajs-fetch',
    connectionTimeout: 3000,
    requestTimeout: 10000,
    retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 1000 },
  })
  await cluster.connect()
  try {
    await cluster.addTargetTopic(topic)
    const out = {}
    for (const p of partitions) {
      out[p] = []
      const meta = cluster.findTopicPartitionMetadata(topic).find(m => m.partitionId === p)
      const broker = await cluster.findBroker({ nodeId: meta.leader })
      let offset = 0
      for (let round = 0; round < 100; round++) {
        const { responses } = await broker.fetch({
          maxWaitTime: 100,
          minBytes: 1,
          maxBytes: 1 << 20,
          isolationLevel: 1,
          topics: [{ topic, partitions: [{ partition: p, fetchOffset: String(offset), maxBytes: 1 << 20 }] }],
        })
        const pd = responses[0].partitions[0]
        if (pd.errorCode !== 0) throw new Error(`fetch ${topic}/${p} at ${offset}: error code ${pd.errorCode}`)
        // A batch may begin before the fetch offset; skip what was asked past.
        for (const m of pd.messages) {
          if (Number(m.offset) < offset) continue
          out[p].push({
            offset: Number(m.offset),
            key: m.key == null ? null : m.key.toString(),
            value: m.value == null ? null : m.value.toString(),
            headers: headerText(m.headers),
          })
        }
        const hw = Number(pd.highWatermark)
        if (out[p].length) offset = out[p][out[p].length - 1].offset + 1
        if (offset >= hw) break
      }
    }
    return out
  } finally {
    await cluster.disconnect()
  }
}

async function run() {
  fs.mkdirSync(outDir, { recursive: true })
  const admin = kafka.admin()
  await admin.connect()
  const producer = kafka.producer({ allowAutoTopicCreation: false })
  try {
    // --- admin ---
    const created = await check('admin.createTopics with 3 partitions and retention.ms', () =>
      admin.createTopics({
        topics: [{ topic, numPartitions: 3, replicationFactor: 1, configEntries: [{ name: 'retention.ms', value: RETENTION_MS }] }],
        waitForLeaders: true,
      })
    )
    if (created === true) ok('admin.createTopics with 3 partitions and retention.ms')
    else if (created === false) fail('admin.createTopics with 3 partitions and retention.ms', 'returned false: the topic already existed')
    else return // check() already failed it; nothing below can work

    await check('admin.createTopics of an existing topic', async () => {
      const again = await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] })
      expectEq('admin.createTopics of an existing topic returns false', false, again)
    })

    await check('admin.listTopics', async () => {
      const topics = await admin.listTopics()
      if (topics.includes(topic)) ok('admin.listTopics includes the new topic')
      else fail('admin.listTopics includes the new topic', `got ${JSON.stringify(topics)}`)
    })

    await check('admin.fetchTopicMetadata', async () => {
      const { topics } = await admin.fetchTopicMetadata({ topics: [topic] })
      const parts = topics[0].partitions.map(p => [p.partitionId, p.partitionErrorCode, p.leader >= 0]).sort()
      expectEq('admin.fetchTopicMetadata shows 3 partitions with leaders', [[0, 0, true], [1, 0, true], [2, 0, true]], parts)
    })

    await check('admin.describeConfigs', async () => {
      const { resources } = await admin.describeConfigs({
        resources: [{ type: 2 /* ConfigResourceTypes.TOPIC */, name: topic, configNames: ['retention.ms'] }],
        includeSynonyms: false,
      })
      const e = resources[0].configEntries.find(c => c.configName === 'retention.ms')
      expectEq('admin.describeConfigs shows retention.ms as created', [0, RETENTION_MS], [resources[0].errorCode, e && e.configValue])
    })

    // --- produce: the same KEYS keys once per acks mode ---
    await producer.connect()
    const produced = [] // {key, value, headers} in produce order
    let betweenMs = 0 // a time after the first batch and before the second
    for (const [label, acks, compression] of MODES) {
      if (label === 'acks-1') {
        await sleep(5)
        betweenMs = Date.now()
        await sleep(5)
      }
      const messages = []
      for (let i = 0; i < KEYS; i++) {
        const m = { key: `key-${i * 7}`, value: `kafkajs-${label}-${i}`, headers: { client: 'kafkajs', seq: String(i) } }
        messages.push(m)
        produced.push({ key: m.key, value: m.value, headers: headerText(m.headers) })
      }
      const name = `producer.send ${KEYS} keyed records with headers, ${label}`
      await check(name, async () => {
        const res = await producer.send({ topic, acks, compression, messages })
        if (acks === 0) {
          ok(name) // no response to check
          return
        }
        const bad = res.filter(r => r.errorCode !== 0)
        const parts = res.map(r => r.partition).sort()
        if (bad.length === 0 && parts.length === 3) ok(name)
        else fail(name, `results ${JSON.stringify(res)}`)
      })
    }
    fs.writeFileSync(
      path.join(outDir, 'produced.txt'),
      produced.map(r => `${r.key}|${r.value}|${r.headers}\n`).join('')
    )

    // acks=0 has no response: wait until all records are visible (the
    // broker handles one connection's requests in order, so they are
    // there once the high watermarks add up) before reading back.
    let offsets
    for (let i = 0; i < 50; i++) {
      offsets = await admin.fetchTopicOffsets(topic)
      if (offsets.reduce((n, o) => n + Number(o.high), 0) >= produced.length) break
      await sleep(100)
    }

    // --- read back without a group ---
    const got = await check('Broker#fetch reads the topic back', () => fetchAll([0, 1, 2]))
    if (!got) return
    const all = [].concat(...Object.values(got))
    const asText = r => `${r.key}|${r.value}|${r.headers}`
    expectEq(
      `fetch returns every produced record exactly once (${produced.length}), with key and headers`,
      produced.map(asText).sort(),
      all.map(asText).sort()
    )
    const produceIndex = new Map(produced.map((r, i) => [asText(r), i]))
    const disorder = []
    const keyParts = new Map()
    for (const p of [0, 1, 2]) {
      const idx = got[p].map(r => produceIndex.get(asText(r)))
      for (let i = 1; i < idx.length; i++) if (!(idx[i - 1] < idx[i])) disorder.push(`partition ${p} offset ${got[p][i].offset}`)
      got[p].forEach((r, i) => {
        if (r.offset !== i) disorder.push(`partition ${p}: record ${i} at offset ${r.offset}`)
        keyParts.set(r.key, (keyParts.get(r.key) || new Set()).add(p))
      })
    }
    expectEq('fetch: per partition, offsets 0.. in produce order', [], disorder.slice(0, 10))
    const split = [...keyParts].filter(([, ps]) => ps.size !== 1).map(([k]) => k)
    const used = new Set([].concat(...[...keyParts.values()].map(s => [...s])))
    if (split.length === 0 && used.size === 3) ok('DefaultPartitioner: each key in one partition, all 3 used')
    else fail('DefaultPartitioner: each key in one partition, all 3 used', `split keys ${split}; partitions used ${[...used]}`)

    // --- list offsets ---
    const counts = [0, 1, 2].map(p => got[p].length)
    expectEq(
      'admin.fetchTopicOffsets: low 0 and high = records read, per partition',
      [0, 1, 2].map(p => ({ partition: p, low: '0', high: String(counts[p]) })),
      offsets.map(o => ({ partition: o.partition, low: o.low, high: o.high })).sort((a, b) => a.partition - b.partition)
    )
    await check('admin.fetchTopicOffsetsByTimestamp', async () => {
      // Every key went once per mode, so the first record after the first
      // batch is at a third of each partition's records.
      const byTime = await admin.fetchTopicOffsetsByTimestamp(topic, betweenMs)
      expectEq(
        'admin.fetchTopicOffsetsByTimestamp(T between batches) finds the first record after T',
        [0, 1, 2].map(p => ({ partition: p, offset: String(counts[p] / MODES.length) })),
        byTime.sort((a, b) => a.partition - b.partition)
      )
      const future = await admin.fetchTopicOffsetsByTimestamp(topic, Date.now() + 3600e3)
      expectEq(
        'admin.fetchTopicOffsetsByTimestamp(future) gives the end offsets',
        [0, 1, 2].map(p => ({ partition: p, offset: String(counts[p]) })),
        future.sort((a, b) => a.partition - b.partition)
      )
    })

    // --- the group consumer (kafkajs's public Consumer) ---
    const groupId = `strata-e2e-kafkajs-${process.pid}`
    await check('Consumer (group) reads the topic back', async () => {
      const consumer = kafka.consumer({ groupId, sessionTimeout: 10000, heartbeatInterval: 500 })
      const seen = []
      const joins = []
      consumer.on(consumer.events.GROUP_JOIN, e => joins.push(e.payload.memberAssignment))
      await consumer.connect()
      try {
        await consumer.subscribe({ topics: [topic], fromBeginning: true })
        let done
        const all = new Promise(resolve => { done = resolve })
        await consumer.run({
          eachMessage: async ({ partition, message }) => {
            seen.push({
              partition,
              key: message.key == null ? null : message.key.toString(),
              value: message.value == null ? null : message.value.toString(),
              headers: headerText(message.headers),
            })
            if (seen.length >= produced.length) done()
          },
        })
        await Promise.race([all, sleep(30000)])
      } finally {
        await consumer.disconnect() // commits what it read, leaves the group
      }
      expectEq(
        `Consumer (group) reads every produced record exactly once (${produced.length}), with key and headers`,
        produced.map(asText).sort(),
        seen.map(asText).sort()
      )
      expectEq('Consumer (group): GROUP_JOIN assigns the one member all 3 partitions', [0, 1, 2],
        joins.length ? [...joins[joins.length - 1][topic]].sort() : null)
      const committed = await admin.fetchOffsets({ groupId, topics: [topic] })
      expectEq('admin.fetchOffsets: the group committed the end of each partition',
        [0, 1, 2].map(p => ({ partition: p, offset: String(counts[p]) })),
        committed[0].partitions.map(o => ({ partition: o.partition, offset: o.offset })).sort((a, b) => a.partition - b.partition))
      const listed = await admin.listGroups()
      expectEq('admin.listGroups lists the group as a consumer group', [{ groupId, protocolType: 'consumer' }],
        listed.groups.filter(g => g.groupId === groupId))
      const described = await admin.describeGroups([groupId])
      expectEq('admin.describeGroups: the group is Empty after the consumer left', ['Empty', 0],
        [described.groups[0].state, described.groups[0].members.length])
      await admin.deleteGroups([groupId])
      const after = await admin.listGroups()
      expectEq('admin.deleteGroups removes the group', [], after.groups.filter(g => g.groupId === groupId))
    })
  } finally {
    await producer.disconnect().catch(() => {})
    await admin.disconnect().catch(() => {})
  }
}

async function del() {
  const admin = kafka.admin()
  await admin.connect()
  try {
    await check('admin.deleteTopics', async () => {
      await admin.deleteTopics({ topics: [topic], timeout: 10000 })
      ok('admin.deleteTopics')
    })
    await check('admin.listTopics after delete', async () => {
      const topics = await admin.listTopics()
      expectEq('admin.listTopics no longer lists the deleted topic', false, topics.includes(topic))
    })
  } finally {
    await admin.disconnect().catch(() => {})
  }
}

;(mode === 'run' ? run() : mode === 'delete' ? del() : Promise.reject(new Error(`unknown mode ${mode}`)))
  .then(() => process.exit(failed ? 1 : 0))
  .catch(e => {
    console.error(e)
    process.exit(2)
  })
