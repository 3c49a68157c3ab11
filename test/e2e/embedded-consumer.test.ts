import { expect } from 'chai';
import { PGliteDriver, SqlEventStore } from '@registo/event-store';
import { SqlConsumer, StreamParallelConsumer, SqlDeadLetterSink, StoreEventSource } from '@registo/messaging';
import { enrollmentStatusProjection, replayProjection } from '@registo/projections';
import { lifecycle, randomId } from '../src/index.js';

describe('consumer runtime, embedded form: event store subscription on PGlite', function () {
  this.timeout(120_000);

  it('projects enrollment_status from the store, resumes from its stored offset, dead-letters into a table', async () => {
    const driver = await PGliteDriver.open();
    const store = await SqlEventStore.open(driver);
    const ids = Array.from({ length: 50 }, () => randomId());
    for (const [i, id] of ids.entries()) await store.append(`enrollment-${id}`, lifecycle(id, 1 + (i % 7), 'approve'), { expectedRevision: 'no_stream' });
    // A stream the projection refuses (its first event is not revision 0 of a submission) cannot be
    // written through the store, so poison here is a failing handler: wrap the projection.
    const poisoned = ids[3]!;
    const handler = {
      ...enrollmentStatusProjection,
      async apply(tx: Parameters<typeof enrollmentStatusProjection.apply>[0], e: Parameters<typeof enrollmentStatusProjection.apply>[1]) {
        if (e.streamId === `enrollment-${poisoned}` && e.revision === 0) throw new Error('handler refuses this one');
        return enrollmentStatusProjection.apply(tx, e);
      },
    };
    const head = await store.headPosition();
    const run = async (): Promise<SqlConsumer> => {
      const consumer = new SqlConsumer(driver, handler, new StoreEventSource(store), new SqlDeadLetterSink(driver), { maxAttempts: 2, retryDelayMs: 10 });
      const running = consumer.run();
      const deadline = Date.now() + 30_000;
      while (Date.now() < deadline) {
        const [row] = await driver.query<{ offset: string }>(`SELECT "offset" FROM registo_consumer_offsets WHERE consumer = 'enrollment_status'`).catch(() => []);
        if (row && Number(row.offset) >= (await store.headPosition())) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      await consumer.stop();
      await running;
      return consumer;
    };
    const first = await run();
    // The refused first event, then the poisoned stream's 3 later events, which now see a gap.
    expect(first.stats.deadLettered).to.equal(4);
    const letters = await driver.query<{ event_id: string; reason: string; attempts: number }>('SELECT event_id, reason, attempts FROM registo_dead_letters ORDER BY id');
    expect(letters[0]).to.include({ reason: 'handler refuses this one', attempts: 2 });
    expect(letters.slice(1).map((l) => l.reason)).to.deep.equal([1, 2, 3].map((r) => `enrollment_status: enrollment-${poisoned} expected revision 0, got ${r}`));

    const more = randomId();
    await store.append(`enrollment-${more}`, lifecycle(more, 7, 'reject'), { expectedRevision: 'no_stream' });
    const second = await run();
    expect(second.stats.applied).to.equal(7);
    expect(second.stats.skipped).to.equal(0);
    const rows = await driver.query<{ reg_id: string; status: string }>('SELECT reg_id, status FROM enrollment_status');
    expect(rows.length).to.equal(ids.length); // 50 - poisoned + more
    expect(rows.find((r) => r.reg_id === more)?.status).to.equal('REJECTED');
    expect(head).to.be.greaterThan(0);

    await replayProjection(store, driver, enrollmentStatusProjection);
    expect((await driver.query('SELECT reg_id FROM enrollment_status')).length).to.equal(ids.length + 1);
    await store.close();
  });

  it('an outside-world consumer waits the configured schedule between attempts (as the retry topics do), then dead-letters', async () => {
    const driver = await PGliteDriver.open();
    const store = await SqlEventStore.open(driver);
    const id = randomId();
    await store.append(`enrollment-${id}`, lifecycle(id, 1, 'approve'), { expectedRevision: 'no_stream' });
    const attempts: number[] = [];
    const waits: number[] = [];
    const failing = {
      name: 'always_down',
      categories: ['enrollment' as const],
      handle: async (_event: unknown, attempt: number): Promise<void> => {
        attempts.push(attempt);
        throw new Error('the system is down');
      },
    };
    // The platform's default sync schedule (REGISTO_SYNC_RETRY_DELAYS_MS), recorded instead of slept through.
    const consumer = new StreamParallelConsumer(driver, failing, new StoreEventSource(store), new SqlDeadLetterSink(driver), {
      retryDelaysMs: [1000, 10000, 60000],
      sleep: async (ms) => void waits.push(ms),
    });
    const running = consumer.run();
    const deadline = Date.now() + 30_000;
    while (consumer.stats.deadLettered === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    await consumer.stop();
    await running;
    expect(waits).to.deep.equal([1000, 10000, 60000]);
    expect(attempts).to.deep.equal([1, 2, 3, 4]);
    const [letter] = await driver.query<{ reason: string; attempts: number }>('SELECT reason, attempts FROM registo_dead_letters');
    expect(letter).to.include({ reason: 'the system is down', attempts: 4 });
    await store.close();
  });
});
