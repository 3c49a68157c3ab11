import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createLogger } from '@registo/base';
import { type EventStore, openEventStore } from '@registo/event-store';
import {
  type KafkaSettings,
  EnvelopeCodec,
  categoryTopic,
  ensureTopics,
  kafkaClient,
  topicConfig,
} from '@registo/messaging';
import { Mirror, eventHeaders } from '@registo/producers';
import { ensureInfra } from '@registo/deploy';
import { type BenchReport, latencyMetrics, metric, progress } from './report.js';
import { benchEvent, withBenchDatabase } from './fixtures.js';

export interface MirrorBenchOptions {
  adminUrl: string;
  settings: KafkaSettings;
  /** Events in the throughput run. */
  events: number;
  /** Steady rate and duration of the latency run. */
  rate: number;
  seconds: number;
}

const logger = createLogger('silent');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function withDatabase<T>(adminUrl: string, fn: (store: EventStore, url: string) => Promise<T>): Promise<T> {
  return withBenchDatabase(adminUrl, async (url) => {
    const store = await openEventStore({ kind: 'postgres', url });
    try {
      return await fn(store, url);
    } finally {
      await store.close();
    }
  });
}

const CLI = fileURLToPath(new URL('../../../bin/registo.js', import.meta.url));

/** The mirror as deployed: its own process (`registo start --role mirror`), its own event loop. */
/** The mirror process's committed position; 0 until it has created its checkpoint topic. */
async function committed(probe: Mirror): Promise<number> {
  return probe.committedPosition().catch(() => 0);
}

function startMirrorProcess(databaseUrl: string, settings: KafkaSettings): { stop(): Promise<void> } {
  const child = spawn(process.execPath, [CLI, 'start', '--role', 'mirror'], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      KAFKA_BROKERS: settings.brokers.join(','),
      SCHEMA_REGISTRY_URL: settings.registryUrl,
      REGISTO_TOPIC_PREFIX: settings.prefix,
      LOG_LEVEL: 'error',
    },
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Records when each event id becomes visible to a read_committed consumer of `topic`. */
async function watch(settings: KafkaSettings, topic: string): Promise<{ seen: Map<string, number>; stop(): Promise<void> }> {
  const kafka = kafkaClient(settings, 'bench-watch');
  const consumer = kafka.consumer({ groupId: `bench-watch-${randomBytes(4).toString('hex')}`, readUncommitted: false, maxWaitTimeInMs: 20 });
  const seen = new Map<string, number>();
  await consumer.connect();
  await consumer.subscribe({ topics: [topic], fromBeginning: false });
  let joined!: () => void;
  const ready = new Promise<void>((r) => (joined = r));
  consumer.on(consumer.events.GROUP_JOIN, () => joined());
  await consumer.run({
    eachBatch: async ({ batch }) => {
      const now = performance.now();
      for (const m of batch.messages) seen.set(String(m.headers?.['event-id']), now);
    },
  });
  await ready;
  await sleep(1000);
  return { seen, stop: () => consumer.disconnect() };
}

async function throughput(o: MirrorBenchOptions): Promise<{ mirrorRate: number; producerRate: number }> {
  return withDatabase(o.adminUrl, async (store, url) => {
    const bar = progress('appending events to mirror', o.events);
    for (let i = 0; i < o.events; i += 500) {
      const id = `R${i}`;
      await store.append(`enrollment-${id}`, Array.from({ length: Math.min(500, o.events - i) }, () => benchEvent(id)), { expectedRevision: 'no_stream' });
      bar.tick(Math.min(500, o.events - i));
    }
    bar.stop();
    const settings = { ...o.settings, prefix: `bench${randomBytes(3).toString('hex')}` };
    // The clock starts at the first committed transaction, so process start-up is not counted.
    const probe = new Mirror({ store, settings, logger });
    const mirror = startMirrorProcess(url, settings);
    let started = 0;
    let startPosition = 0;
    const bar2 = progress('mirroring', o.events);
    for (let done = 0; done < o.events; ) {
      await sleep(100);
      const p = await committed(probe);
      if (p > 0 && started === 0) {
        started = performance.now();
        startPosition = p;
      }
      bar2.tick(p - done);
      done = p;
    }
    const mirrorRate = (o.events - startPosition) / ((performance.now() - started) / 1000);
    bar2.stop();
    await mirror.stop();

    // Baseline: the same encoded bytes, sent by a plain (non-transactional) kafkajs producer.
    const codec = new EnvelopeCodec(settings.registryUrl, settings.prefix);
    await codec.registerAll(['enrollment']);
    const all = await store.readAll({ maxCount: o.events, verify: false });
    const messages = all.map((e) => ({ key: e.streamId, value: codec.encode(e), headers: eventHeaders(e) }));
    const producer = kafkaClient(settings, 'bench-plain').producer();
    await producer.connect();
    const topic = `${settings.prefix}.plain`;
    const admin = kafkaClient(settings, 'bench-admin').admin();
    await admin.connect();
    await ensureTopics(admin, [{ topic, numPartitions: settings.partitions, configEntries: topicConfig() }]);
    await admin.disconnect();
    const t = performance.now();
    // Same transaction-sized sends as the mirror makes, without the transaction.
    for (let i = 0; i < messages.length; i += 2000) await producer.send({ topic, messages: messages.slice(i, i + 2000), acks: -1 });
    const producerRate = messages.length / ((performance.now() - t) / 1000);
    await producer.disconnect();
    return { mirrorRate, producerRate };
  });
}

async function latency(o: MirrorBenchOptions): Promise<{ mirror: number[]; plain: number[] }> {
  return withDatabase(o.adminUrl, async (store, url) => {
    const settings = { ...o.settings, prefix: `bench${randomBytes(3).toString('hex')}` };
    const mirror = startMirrorProcess(url, settings);
    // A first event makes the mirror create its topics; the watcher joins once they exist.
    await store.append('enrollment-warmup', [benchEvent('warmup')], { expectedRevision: 'no_stream' });
    const probe = new Mirror({ store, settings, logger });
    while ((await committed(probe)) < 1) await sleep(100);
    const watcher = await watch(settings, categoryTopic('enrollment', settings.prefix));
    const appendedAt = new Map<string, number>();
    const total = o.rate * o.seconds;
    const bar = progress(`steady ${o.rate} events/s through the mirror`, total);
    const started = performance.now();
    const inflight: Array<Promise<void>> = [];
    for (let i = 0; i < total; i++) {
      const due = started + (i * 1000) / o.rate;
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait);
      const id = `L${i}`;
      // Latency runs from the moment the append is committed (the event exists) to the moment
      // a read_committed consumer sees it on the topic.
      inflight.push(
        store.append(`enrollment-${id}`, [benchEvent(id)], { expectedRevision: 'no_stream' }).then((r) => {
          appendedAt.set(r.events[0]!.eventId, performance.now());
          bar.tick();
        }),
      );
    }
    await Promise.all(inflight);
    bar.stop();
    const deadline = performance.now() + 30_000;
    while (watcher.seen.size < total && performance.now() < deadline) await sleep(50);
    await watcher.stop();
    await mirror.stop();
    const mirrorLatency = [...appendedAt].map(([id, t0]) => (watcher.seen.get(id) ?? Number.NaN) - t0).filter((x) => !Number.isNaN(x));

    // Baseline: produce-to-visible latency of a plain producer at the same rate.
    const plainTopic = `${settings.prefix}.plain-latency`;
    const admin = kafkaClient(settings, 'bench-admin').admin();
    await admin.connect();
    await ensureTopics(admin, [{ topic: plainTopic, numPartitions: settings.partitions, configEntries: topicConfig() }]);
    await admin.disconnect();
    const plainWatch = await watch(settings, plainTopic);
    const producer = kafkaClient(settings, 'bench-plain').producer();
    await producer.connect();
    const sentAt = new Map<string, number>();
    const t = performance.now();
    const sends: Array<Promise<unknown>> = [];
    const value = randomBytes(700);
    for (let i = 0; i < total; i++) {
      const wait = t + (i * 1000) / o.rate - performance.now();
      if (wait > 1) await sleep(wait);
      const id = `p${i}`;
      sentAt.set(id, performance.now());
      sends.push(producer.send({ topic: plainTopic, acks: -1, messages: [{ key: id, value, headers: { 'event-id': id } }] }));
    }
    await Promise.all(sends);
    const end = performance.now() + 30_000;
    while (plainWatch.seen.size < total && performance.now() < end) await sleep(50);
    await plainWatch.stop();
    await producer.disconnect();
    const plain = [...sentAt].map(([id, t0]) => (plainWatch.seen.get(id) ?? Number.NaN) - t0).filter((x) => !Number.isNaN(x));
    if (mirrorLatency.length < total) process.stderr.write(`warning: only ${mirrorLatency.length}/${total} mirrored events seen\n`);
    return { mirror: mirrorLatency, plain };
  });
}

export async function benchMirror(o: MirrorBenchOptions): Promise<BenchReport> {
  await ensureInfra({ onProgress: (m) => process.stderr.write(`infra: ${m}\n`) });
  const t = await throughput(o);
  const l = await latency(o);
  return {
    bench: 'mirror',
    results: [
      metric('mirror_events_per_s', t.mirrorRate, 'events/s', 'plain_producer_events_per_s', t.producerRate),
      ...latencyMetrics('mirror_latency', l.mirror, 'plain_producer_latency', l.plain),
    ],
  };
}
