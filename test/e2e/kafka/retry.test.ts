import { expect } from 'chai';
import { createLogger } from '@registo/base';
import type { EventStore } from '@registo/event-store';
import {
  EnvelopeCodec,
  KafkaDeadLetterSink,
  RetryingKafkaConsumer,
  TransientError,
  categoryTopic,
  consumerGroup,
  dlqTopic,
  kafkaClient,
  retryTopic,
  storeOffsetMetadata,
} from '@registo/messaging';
import { Mirror } from '@registo/producers';
import type { EventEnvelope } from '@registo/schemas';
import { enrollmentSubmitted, randomId, readRaw, testKafkaSettings } from '../../src/index.js';
import { waitFor, withKafkaAndStore } from './processes.js';

describe('retry topics for handlers that call the outside world', function () {
  this.timeout(180_000);
  let store: EventStore;

  withKafkaAndStore((suite) => ({ store } = suite));

  it('retries transient failures after increasing delays, then dead-letters; permanent failures go straight to the DLQ', async () => {
    const settings = testKafkaSettings('rt');
    const ids = Array.from({ length: 30 }, () => randomId());
    for (const id of ids) await store.append(`enrollment-${id}`, [enrollmentSubmitted(id)], { expectedRevision: 'no_stream' });
    const mirror = new Mirror({ store, settings, logger: createLogger('silent') });
    const mirroring = mirror.run();
    await waitFor('mirror', async () => mirror.status().position === ids.length, 60_000);
    await mirror.stop();
    await mirroring;

    const kind = (e: EventEnvelope): 'flaky' | 'down' | 'broken' | 'fine' => {
      const i = ids.indexOf(e.streamId.slice('enrollment-'.length));
      return i % 10 === 1 ? 'down' : i % 10 === 7 ? 'broken' : i % 3 === 0 ? 'flaky' : 'fine';
    };
    const calls = new Map<string, number[]>();
    const handler = {
      name: 'outside',
      categories: ['enrollment'] as const,
      async handle(e: EventEnvelope, attempt: number) {
        calls.set(e.eventId, [...(calls.get(e.eventId) ?? []), Date.now()]);
        const k = kind(e);
        if (k === 'broken') throw new Error('422 the other side refuses this record');
        if (k === 'down') throw new TransientError(`503 attempt ${attempt}`);
        if (k === 'flaky' && attempt < 3) throw new TransientError(`timeout on attempt ${attempt}`);
      },
    };
    const consumer = new RetryingKafkaConsumer(
      settings,
      new EnvelopeCodec(settings.registryUrl, settings.prefix),
      store,
      handler,
      new KafkaDeadLetterSink(settings),
      { delaysMs: [400, 1200] },
    );
    await consumer.run();
    await waitFor('every event settled', async () => consumer.stats.succeeded + consumer.stats.deadLettered >= ids.length, 90_000);
    await consumer.stop();

    const events = await store.readAll();
    const byKind = (k: string) => events.filter((e) => kind(e) === k);
    expect(consumer.stats.succeeded).to.equal(byKind('fine').length + byKind('flaky').length);
    expect(consumer.stats.deadLettered).to.equal(byKind('down').length + byKind('broken').length);
    for (const e of byKind('fine')) expect(calls.get(e.eventId), 'fine').to.have.length(1);
    for (const e of byKind('broken')) expect(calls.get(e.eventId), 'broken').to.have.length(1);
    // Each retry went through its step's topic, due the step's delay after the failed attempt,
    // and was not tried before it was due. The handler's clock readings are compared only as an
    // order against the due time the consumer wrote (the same clock), never as a duration.
    const retried = [...byKind('flaky'), ...byKind('down')];
    const scheduled = await Promise.all(
      [0, 1].map(async (step) => new Map((await readRaw(settings, retryTopic('outside', step, settings.prefix), retried.length)).map((m) => [m.headers['event-id'], m.headers]))),
    );
    for (const e of retried) {
      const t = calls.get(e.eventId)!;
      expect(t, kind(e)).to.have.length(3);
      [400, 1200].forEach((delay, step) => {
        const h = scheduled[step]!.get(e.eventId);
        expect(h?.['retry-attempt'], `${kind(e)}, retry step ${step}`).to.equal(String(step + 1));
        const due = Number(h!['retry-not-before']);
        expect(due, `due after attempt ${step + 1} plus ${delay} ms`).to.be.at.least(t[step]! + delay);
        expect(t[step + 1]!, `attempt ${step + 2} not before it was due`).to.be.at.least(due);
      });
    }
    const dead = await readRaw(settings, dlqTopic('outside', settings.prefix), consumer.stats.deadLettered);
    expect(dead).to.have.length(consumer.stats.deadLettered);
    for (const d of dead) {
      const e = events.find((x) => x.eventId === d.headers['event-id'])!;
      if (kind(e) === 'down') expect(d.headers).to.include({ 'dlq-attempts': '3', 'dlq-reason': '503 attempt 3' });
      else expect(d.headers).to.include({ 'dlq-attempts': '1', 'dlq-reason': '422 the other side refuses this record' });
      expect(d.headers['dlq-source-topic']).to.equal(`${settings.prefix}.enrollment.v1`);
    }

    // Every group's committed offsets name the store whose events they count.
    const admin = kafkaClient(settings, 'retry-test').admin();
    await admin.connect();
    try {
      const groups: Array<[string, string]> = [
        [consumerGroup('outside', settings.prefix), categoryTopic('enrollment', settings.prefix)],
        [consumerGroup('outside-retry-0', settings.prefix), retryTopic('outside', 0, settings.prefix)],
        [consumerGroup('outside-retry-1', settings.prefix), retryTopic('outside', 1, settings.prefix)],
      ];
      for (const [groupId, topic] of groups) {
        const committed = (await admin.fetchOffsets({ groupId, topics: [topic] }))[0]!.partitions.filter((p) => Number(p.offset) >= 0);
        expect(committed, groupId).to.not.be.empty;
        for (const p of committed) expect(p.metadata, `${groupId}#${p.partition}`).to.equal(storeOffsetMetadata(await store.storeId()));
      }
    } finally {
      await admin.disconnect();
    }
  });
});
