import { expect } from 'chai';
import { Kafka, logLevel } from 'kafkajs';
import { ensureInfra } from '@registo/deploy';
import { createLogger } from '@registo/base';
import { type EventStore, PostgresDriver, openEventStore } from '@registo/event-store';
import {
  EnvelopeCodec,
  KafkaDeadLetterSink,
  KafkaEventSource,
  SqlConsumer,
  categoryTopic,
  dlqTopic,
} from '@registo/messaging';
import { Mirror } from '@registo/producers';
import { enrollmentStatusProjection, replayProjection } from '@registo/projections';
import { prepareEnvelope } from '@registo/schemas';
import {
  createTestDatabase,
  expectLogIntact,
  lifecycle,
  randomId,
  readRaw,
  sql,
  testKafkaSettings,
  type TestDatabase,
} from '../../src/index.js';
import { crashRepeatedly, roleEnv, sleep, waitFor } from './processes.js';

const logger = createLogger('silent');

interface StatusRow {
  reg_id: string;
  status: string;
  uin: string | null;
  rejection_code: string | null;
  revision: string;
  last_position: string;
  entries: number;
}

async function statusRows(url: string): Promise<StatusRow[]> {
  const r = await sql(
    url,
    'SELECT reg_id, status, uin, rejection_code, revision, last_position, jsonb_array_length(timeline) AS entries FROM enrollment_status ORDER BY reg_id',
  );
  return r.rows as StatusRow[];
}

async function runMirror(store: EventStore, settings: ReturnType<typeof testKafkaSettings>, until: number): Promise<void> {
  const mirror = new Mirror({ store, settings, logger });
  const running = mirror.run();
  await waitFor('mirror', async () => mirror.status().position >= until, 120_000);
  await mirror.stop();
  await running;
}

describe('consumer runtime on Kafka: enrollment_status projection', function () {
  this.timeout(600_000);
  const dbs: TestDatabase[] = [];
  const stores: EventStore[] = [];

  before(async () => {
    await ensureInfra();
  });
  after(async () => {
    for (const s of stores) await s.close();
    for (const d of dbs) await d.drop();
  });

  async function freshStore(): Promise<{ db: TestDatabase; store: EventStore }> {
    const db = await createTestDatabase();
    const store = await openEventStore({ kind: 'postgres', url: db.url });
    dbs.push(db);
    stores.push(store);
    return { db, store };
  }

  it('SIGKILLed 10 times while consuming: rows equal a replay from scratch, no effect applied twice', async () => {
    const { db, store } = await freshStore();
    const settings = testKafkaSettings('pc');
    const outcomes = ['approve', 'reject', 'adjudicate'] as const;
    // 20,000 events over ~3,000 enrollments at every stage of their lives.
    let total = 0;
    const plan: Array<{ id: string; events: ReturnType<typeof lifecycle> }> = [];
    while (total < 20_000) {
      const id = randomId();
      const events = lifecycle(id, 1 + Math.floor(Math.random() * 7), outcomes[plan.length % 3]!);
      plan.push({ id, events });
      total += events.length;
    }
    // Half the log exists before the projector starts; the other half arrives while it is being killed.
    const half = Math.floor(plan.length / 2);
    for (const p of plan.slice(0, half)) await store.append(`enrollment-${p.id}`, p.events, { expectedRevision: 'no_stream' });
    const mirror = new Mirror({ store, settings, logger });
    const mirroring = mirror.run();
    // The second half is released in 11 stages, one more after each kill: every incarnation has
    // events of its own to project, and the last ones come after the last kill.
    const rest = plan.slice(half);
    let released = rest.length / 11;
    const writing = (async () => {
      for (let i = 0; i < rest.length; i++) {
        while (i >= released) await sleep(20);
        await store.append(`enrollment-${rest[i]!.id}`, rest[i]!.events, { expectedRevision: 'no_stream' });
        await sleep(3);
      }
    })();
    const projected = async (): Promise<number> => Number((await sql(db.url, 'SELECT coalesce(sum(jsonb_array_length(timeline)), 0) AS n FROM enrollment_status')).rows[0].n);
    const { survivor, progressAtKills } = await crashRepeatedly(roleEnv(db.url, settings, 'projector'), 10, 300, 1200, projected, (kills) => (released = (rest.length * (kills + 1)) / 11));
    await writing;
    const head = await store.headPosition();
    // Every kill came after that incarnation had projected something, and before the log was all projected.
    expect(progressAtKills).to.have.length(10);
    expect(progressAtKills.at(-1), `events projected at the kills: ${progressAtKills.join(', ')}`).to.be.below(head);
    await waitFor('mirror to reach the head', async () => mirror.status().position === head, 120_000);
    await waitFor(
      'the projection to hold every event',
      async () => (await projected()) >= head,
      180_000,
    );
    await sleep(1000);
    survivor.child.kill('SIGTERM');
    expect(await survivor.exited).to.equal(0);
    await mirror.stop();
    await mirroring;

    const consumed = await statusRows(db.url);
    const replayDb = await createTestDatabase();
    dbs.push(replayDb);
    const replayDriver = new PostgresDriver({ connectionString: replayDb.url });
    await replayProjection(store, replayDriver, enrollmentStatusProjection);
    await replayDriver.close();
    const replayed = await statusRows(replayDb.url);

    expect(consumed.length).to.equal(plan.length);
    expect(consumed).to.deep.equal(replayed);
    expect(consumed.reduce((n, r) => n + Number(r.entries), 0), 'timeline entries').to.equal(head);
    for (const r of consumed) expect(Number(r.entries), r.reg_id).to.equal(Number(r.revision) + 1);
    const statuses = new Set(consumed.map((r) => r.status));
    expect([...statuses]).to.include.members(['SUBMITTED', 'APPROVED', 'REJECTED', 'IN_ADJUDICATION']);
    await expectLogIntact({ db: db.url, store, readModels: { projections: [enrollmentStatusProjection], tables: [['enrollment_status', 'reg_id']] } });
  });

  it('a poison message goes to the dead-letter topic with its reason; the consumer goes on and loses nothing after it', async () => {
    const { db, store } = await freshStore();
    const settings = testKafkaSettings('pp');
    const before = randomId();
    await store.append(`enrollment-${before}`, lifecycle(before, 3, 'approve'), { expectedRevision: 'no_stream' });
    await runMirror(store, settings, 3);

    // Two poison messages on the enrollment topic: bytes that are not Avro, and a well-formed
    // event whose stream skips a revision (the projection refuses to guess).
    const codec = new EnvelopeCodec(settings.registryUrl, settings.prefix);
    await codec.registerAll(['enrollment']);
    const gapStream = `enrollment-${randomId()}`;
    const gap = { ...prepareEnvelope(lifecycle('x', 2, 'approve')[1]!, { streamId: gapStream, revision: 5, recordedAt: new Date().toISOString() }), position: 999_999 };
    const kafka = new Kafka({ brokers: settings.brokers, logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: categoryTopic('enrollment', settings.prefix),
      messages: [
        { key: 'enrollment-junk', value: Buffer.from('this is not avro'), headers: { 'event-id': 'junk' } },
        { key: gapStream, value: codec.encode(gap), headers: { 'event-id': gap.eventId, type: gap.type } },
      ],
    });
    await producer.disconnect();

    const after = randomId();
    await store.append(`enrollment-${after}`, lifecycle(after, 7, 'approve'), { expectedRevision: 'no_stream' });
    await runMirror(store, settings, 10);

    const driver = new PostgresDriver({ connectionString: db.url });
    const consumer = new SqlConsumer(
      driver,
      enrollmentStatusProjection,
      new KafkaEventSource(settings, codec, store),
      new KafkaDeadLetterSink(settings),
      { maxAttempts: 3, retryDelayMs: 50 },
    );
    const running = consumer.run();
    // The two letters sit on other partitions than the good events: wait for both, in any order.
    await waitFor('both enrollments projected and both poison messages dead-lettered', async () => {
      const rows = await sql(db.url, 'SELECT coalesce(sum(jsonb_array_length(timeline)), 0) AS n FROM enrollment_status').catch(() => ({ rows: [{ n: 0 }] }));
      return Number(rows.rows[0].n) === 10 && consumer.stats.deadLettered === 2;
    }, 60_000);
    await consumer.stop();
    await running;
    await driver.close();

    expect(consumer.stats.deadLettered).to.equal(2);
    const dead = await readRaw(settings, dlqTopic('enrollment_status', settings.prefix), 2);
    expect(dead).to.have.length(2);
    const junk = dead.find((d) => d.key === 'enrollment-junk')!;
    expect(junk.value!.toString()).to.equal('this is not avro');
    expect(junk.headers['dlq-reason']).to.be.a('string').and.not.equal('');
    expect(junk.headers['dlq-attempts']).to.equal('1');
    expect(junk.headers['dlq-source-topic']).to.equal(categoryTopic('enrollment', settings.prefix));
    expect(Number(junk.headers['dlq-source-offset'])).to.be.at.least(0);
    const gapLetter = dead.find((d) => d.key === gapStream)!;
    expect(gapLetter.headers['dlq-reason']).to.match(/expected revision 0, got 5/);
    expect(gapLetter.headers['dlq-attempts']).to.equal('3');
    expect(gapLetter.headers['event-id']).to.equal(gap.eventId);
    const rows = await statusRows(db.url);
    expect(rows.map((r) => [r.reg_id, Number(r.entries), r.status]).sort()).to.deep.equal([[after, 7, 'APPROVED'], [before, 3, 'CHECKING']].sort());
  });
});
