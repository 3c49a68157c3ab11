import { expect } from 'chai';
import { createLogger } from '@registo/base';
import type { EventStore } from '@registo/event-store';
import { Mirror } from '@registo/producers';
import { enrollmentSubmitted, expectLogIntact, packetValidated, randomId, readTopics, testKafkaSettings, type TestDatabase } from '../../src/index.js';
import { crashRepeatedly, roleEnv, sleep, waitFor, withKafkaAndStore } from './processes.js';

describe('mirror: event store → Kafka, exactly once', function () {
  this.timeout(600_000);
  let db: TestDatabase;
  let store: EventStore;

  withKafkaAndStore((suite) => ({ db, store } = suite));

  it('SIGKILLed at random moments 10 times while 20,000 events are appended: every event once, per-stream order, same hashes', async () => {
    const settings = testKafkaSettings('mc');
    const total = 20_000;
    const streams = Array.from({ length: 500 }, () => randomId());

    // Writers append at a steady pace, the log released in 11 stages, one more after each kill:
    // every incarnation has events of its own to mirror, and the last ones come after the last kill.
    let written = 0;
    let released = total / 11;
    const writing = (async () => {
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (written < total) {
            if (written >= released) {
              await sleep(20);
              continue;
            }
            const id = streams[Math.floor(Math.random() * streams.length)]!;
            const n = Math.min(total - written, 1 + Math.floor(Math.random() * 4));
            written += n;
            const batch = Array.from({ length: n }, (_, i) => (i === 0 ? enrollmentSubmitted(id) : packetValidated(id)));
            await store.append(`enrollment-${id}`, batch, { expectedRevision: 'any' });
            await sleep(2);
          }
        }),
      );
    })();

    const env = roleEnv(db.url, settings, 'mirror');
    const probe = new Mirror({ store, settings, logger: createLogger('silent') });
    const { survivor, progressAtKills } = await crashRepeatedly(env, 10, 400, 1600, () => probe.committedPosition(), (kills) => (released = (total * (kills + 1)) / 11));
    await writing;
    const head = await store.headPosition();
    expect(head).to.equal(total);
    // Every kill came after that incarnation had mirrored something, and before the log was all mirrored.
    expect(progressAtKills).to.have.length(10);
    expect(progressAtKills.at(-1), `committed positions at the kills: ${progressAtKills.join(', ')}`).to.be.below(total);

    let lastCommitted: number | undefined;
    await waitFor('the mirror to commit the head', async () => (lastCommitted = await probe.committedPosition()) === head, 120_000).catch((error: unknown) => {
      throw new Error(`${String(error)}; committed ${lastCommitted}; the last mirror's output:\n${survivor.output().slice(-3000)}`);
    });
    survivor.child.kill('SIGTERM');
    expect(await survivor.exited).to.equal(0);

    const messages = await readTopics(settings, total, { timeoutMs: 120_000 });
    const stored = await store.readAll({ maxCount: total + 10 });
    expect(messages.length, 'messages on the topics').to.equal(total);
    expect(new Set(messages.map((m) => m.event.eventId)).size, 'distinct event ids').to.equal(total);

    const byId = new Map(stored.map((e) => [e.eventId, e]));
    const storeId = await store.storeId();
    for (const m of messages) {
      const original = byId.get(m.event.eventId)!;
      expect(m.event, `event at position ${original.position}`).to.deep.equal(original);
      expect(m.headers).to.include({ 'event-id': original.eventId, type: original.type, position: String(original.position), hash: original.hash, 'store-id': storeId });
      expect(m.key).to.equal(original.streamId);
    }
    // Per stream, offsets within its partition follow revisions.
    const perStream = new Map<string, typeof messages>();
    for (const m of messages) perStream.set(m.key, [...(perStream.get(m.key) ?? []), m]);
    for (const [stream, list] of perStream) {
      list.sort((a, b) => a.offset - b.offset);
      expect(new Set(list.map((m) => m.partition)).size, stream).to.equal(1);
      expect(list.map((m) => m.event.revision), stream).to.deep.equal([...list.keys()]);
    }
    // The mirror only reads the log: it is as the writers left it (no read models here).
    await expectLogIntact({ db: db.url, store, readModels: false });
  });
});
