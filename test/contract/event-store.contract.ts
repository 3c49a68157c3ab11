import { expect } from 'chai';
import {
  type EventEnvelope,
  IntegrityError,
  RegistoError,
  WrongExpectedRevisionError,
  computeHash,
  MAX_EVENT_BYTES,
} from '@registo/schemas';
import type { EventStore, SubscriptionMessage } from '@registo/event-store';
import { enrollmentSubmitted, packetValidated, randomId } from '../src/index.js';

/** What each adapter's test file provides to run the one contract suite. */
export interface EventStoreHarness {
  name: string;
  /** Opens a store over a fresh, empty log. */
  open(): Promise<EventStore>;
  /** Opens another client of the same log (another process, in effect), when the adapter can. */
  openAnother?(): Promise<EventStore>;
  /** Changes one byte of the stored data of the event at `position`, behind the store's back. */
  tamper?(position: number): Promise<void>;
  cleanup(): Promise<void>;
  /** Size of the concurrency test (the contract asks 20,000 events from 16 writers). */
  concurrency?: { writers: number; events: number };
}

async function expectCode(p: Promise<unknown>, code: string): Promise<RegistoError> {
  try {
    await p;
  } catch (e) {
    expect(e, `expected ${code}, got ${String(e)}`).to.be.instanceOf(RegistoError);
    expect((e as RegistoError).code).to.equal(code);
    return e as RegistoError;
  }
  expect.fail(`expected ${code}, but it succeeded`);
}

export function eventStoreContract(h: EventStoreHarness): void {
  describe(`event store contract: ${h.name}`, function () {
    this.timeout(300_000);
    let store: EventStore;

    beforeEach(async () => {
      store = await h.open();
    });
    afterEach(async () => {
      await store.close();
      await h.cleanup();
    });

    describe('append and read', () => {
      it('stores a multi-event append with revisions, gap-free positions and verifiable hashes', async () => {
        const id = randomId();
        const r = await store.append(`enrollment-${id}`, [enrollmentSubmitted(id), packetValidated(id)], {
          expectedRevision: 'no_stream',
        });
        expect(r.idempotent).to.equal(false);
        expect(r.nextExpectedRevision).to.equal(1);
        expect(r.events.map((e) => e.revision)).to.deep.equal([0, 1]);
        const read = await store.readStream(`enrollment-${id}`);
        expect(read).to.deep.equal(r.events);
        for (const e of read) expect(computeHash(e)).to.equal(e.hash);
        expect(read[0]!.metadata.recordedAt).to.match(/^\d{4}-\d\d-\d\dT/);
        expect(read[0]!.eventId).to.match(/^[0-9a-f-]{36}$/);
        expect(read[0]!.eventId[14]).to.equal('7'); // UUIDv7
        expect(read[0]!.metadata.correlationId).to.be.a('string');
        if (store.info.gapFreePositions) expect(read.map((e) => e.position)).to.deep.equal([1, 2]);
        expect(read[1]!.position).to.be.greaterThan(read[0]!.position);
        expect(await store.headPosition()).to.equal(read[1]!.position);
      });

      it('fills schema defaults so that the stored data is the normalised form', async () => {
        const id = randomId();
        await store.append(
          `enrollment-${id}`,
          [{ type: 'ExternalCheckCompleted', data: { regId: id, system: 'SIGA', checkId: 'c1', outcome: 'MATCH' } }],
          { expectedRevision: 'any' },
        );
        const [e] = await store.readStream(`enrollment-${id}`);
        expect(e!.data).to.deep.equal({ regId: id, system: 'SIGA', checkId: 'c1', outcome: 'MATCH', discrepancies: [] });
        expect(e!.schemaVersion).to.equal(1);
      });

      it('keeps caller metadata and fills the rest', async () => {
        const id = randomId();
        const r = await store.append(
          `enrollment-${id}`,
          [
            {
              ...enrollmentSubmitted(id),
              metadata: {
                correlationId: 'corr-1',
                causationId: 'cause-1',
                actor: { id: 'officer-3', role: 'registration_operator' },
                traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
                occurredAt: '2026-11-20T10:00:00.000Z',
              },
            },
          ],
          { expectedRevision: 'no_stream' },
        );
        const [e] = await store.readStream(`enrollment-${id}`);
        expect(e!.metadata).to.include({ correlationId: 'corr-1', causationId: 'cause-1', occurredAt: '2026-11-20T10:00:00.000Z' });
        expect(e!.metadata.actor).to.deep.equal({ id: 'officer-3', role: 'registration_operator' });
        expect(e!.metadata.recordedAt).to.equal(r.events[0]!.metadata.recordedAt);
      });

      it('reads a stream forwards, backwards, from a revision and with a limit', async () => {
        const id = randomId();
        const s = `enrollment-${id}`;
        await store.append(s, [enrollmentSubmitted(id), packetValidated(id), packetValidated(id), packetValidated(id)], {
          expectedRevision: 'no_stream',
        });
        expect((await store.readStream(s)).map((e) => e.revision)).to.deep.equal([0, 1, 2, 3]);
        expect((await store.readStream(s, { direction: 'backwards' })).map((e) => e.revision)).to.deep.equal([3, 2, 1, 0]);
        expect((await store.readStream(s, { fromRevision: 2 })).map((e) => e.revision)).to.deep.equal([2, 3]);
        expect((await store.readStream(s, { direction: 'backwards', fromRevision: 2, maxCount: 2 })).map((e) => e.revision)).to.deep.equal([2, 1]);
        expect((await store.readStream(s, { maxCount: 1 })).map((e) => e.revision)).to.deep.equal([0]);
        expect(await store.readStream(`enrollment-${randomId()}`)).to.deep.equal([]);
      });

      it('reads the whole log from a position', async () => {
        const ids = [randomId(), randomId(), randomId()];
        for (const id of ids) await store.append(`enrollment-${id}`, [enrollmentSubmitted(id)], { expectedRevision: 'no_stream' });
        const all = await store.readAll();
        expect(all.map((e) => e.streamId)).to.deep.equal(ids.map((id) => `enrollment-${id}`));
        const rest = await store.readAll({ fromPosition: all[1]!.position });
        expect(rest.map((e) => e.eventId)).to.deep.equal(all.slice(1).map((e) => e.eventId));
        expect(await store.readAll({ fromPosition: all[0]!.position, maxCount: 1 })).to.have.length(1);
      });
    });

    describe('identity', () => {
      it('has one random id, recorded at creation: the same for every client and after appends, invisible in the log', async () => {
        const id = await store.storeId();
        expect(id).to.match(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
        expect(await store.headPosition()).to.equal(0);
        expect(await store.readAll()).to.deep.equal([]);
        const regId = randomId();
        await store.append(`enrollment-${regId}`, [enrollmentSubmitted(regId)], { expectedRevision: 'no_stream' });
        expect(await store.storeId()).to.equal(id);
        if (h.openAnother) {
          const other = await h.openAnother();
          try {
            expect(await other.storeId()).to.equal(id);
          } finally {
            await other.close();
          }
        }
      });
    });

    describe('optimistic concurrency', () => {
      it('accepts the exact revision and refuses a wrong one with expected and actual', async () => {
        const id = randomId();
        const s = `enrollment-${id}`;
        await store.append(s, [enrollmentSubmitted(id)], { expectedRevision: 'no_stream' });
        await store.append(s, [packetValidated(id)], { expectedRevision: 0 });
        const err = await expectCode(store.append(s, [packetValidated(id)], { expectedRevision: 0 }), 'WRONG_EXPECTED_REVISION');
        expect(err).to.be.instanceOf(WrongExpectedRevisionError);
        expect((err as WrongExpectedRevisionError).expected).to.equal('0');
        expect((err as WrongExpectedRevisionError).actual).to.equal(1);
        expect(await store.readStream(s)).to.have.length(2);
      });

      it('no_stream refuses an existing stream; stream_exists refuses a missing one; any takes both', async () => {
        const id = randomId();
        const s = `enrollment-${id}`;
        const missing = await expectCode(store.append(s, [enrollmentSubmitted(id)], { expectedRevision: 'stream_exists' }), 'WRONG_EXPECTED_REVISION');
        expect((missing as WrongExpectedRevisionError).actual).to.equal('no_stream');
        await store.append(s, [enrollmentSubmitted(id)], { expectedRevision: 'any' });
        const exists = await expectCode(store.append(s, [packetValidated(id)], { expectedRevision: 'no_stream' }), 'WRONG_EXPECTED_REVISION');
        expect((exists as WrongExpectedRevisionError).actual).to.equal(0);
        await store.append(s, [packetValidated(id)], { expectedRevision: 'stream_exists' });
        await store.append(s, [packetValidated(id)], { expectedRevision: 'any' });
        expect((await store.readStream(s)).map((e) => e.revision)).to.deep.equal([0, 1, 2]);
      });

      it('lets exactly one of many concurrent appends at the same revision win', async () => {
        const id = randomId();
        const s = `enrollment-${id}`;
        await store.append(s, [enrollmentSubmitted(id)], { expectedRevision: 'no_stream' });
        const results = await Promise.allSettled(
          Array.from({ length: 10 }, () => store.append(s, [packetValidated(id)], { expectedRevision: 0 })),
        );
        expect(results.filter((r) => r.status === 'fulfilled')).to.have.length(1);
        for (const r of results.filter((x) => x.status === 'rejected')) {
          expect((r as PromiseRejectedResult).reason).to.be.instanceOf(WrongExpectedRevisionError);
        }
        expect(await store.readStream(s)).to.have.length(2);
      });

      it('numbers concurrent `any` appends to one stream without holes', async () => {
        const id = randomId();
        const s = `enrollment-${id}`;
        await Promise.all(Array.from({ length: 25 }, () => store.append(s, [packetValidated(id)], { expectedRevision: 'any' })));
        const read = await store.readStream(s);
        expect(read.map((e) => e.revision)).to.deep.equal([...Array(25).keys()]);
      });
    });

    describe('idempotency', () => {
      it('appending stored event ids again returns the same result and writes nothing', async () => {
        const id = randomId();
        const s = `enrollment-${id}`;
        const events = [
          { ...enrollmentSubmitted(id), eventId: '0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b'.replace('0c1d2e3f4a5b', randomId().slice(0, 12)) },
          { ...packetValidated(id), eventId: `0190a1b2-c3d4-7e5f-8a9b-${randomId().slice(0, 12)}` },
        ];
        const first = await store.append(s, events, { expectedRevision: 'no_stream' });
        const head = await store.headPosition();
        const again = await store.append(s, events, { expectedRevision: 'no_stream' });
        expect(again.idempotent).to.equal(true);
        expect(again.events.map((e) => [e.eventId, e.position, e.revision, e.hash])).to.deep.equal(
          first.events.map((e) => [e.eventId, e.position, e.revision, e.hash]),
        );
        const concurrent = await Promise.all(Array.from({ length: 5 }, () => store.append(s, events, { expectedRevision: 'any' })));
        for (const c of concurrent) expect(c.events.map((e) => e.position)).to.deep.equal(first.events.map((e) => e.position));
        expect(await store.headPosition()).to.equal(head);
        expect(await store.readStream(s)).to.have.length(2);
      });

      it('refuses a stored event id with other content', async () => {
        const id = randomId();
        const eventId = `0190a1b2-c3d4-7e5f-8a9b-${randomId().slice(0, 12)}`;
        await store.append(`enrollment-${id}`, [{ ...packetValidated(id), eventId }], { expectedRevision: 'any' });
        await expectCode(
          store.append(`enrollment-${id}`, [{ type: 'PacketRejected', data: { regId: id, code: 'X', reason: 'y' }, eventId }], { expectedRevision: 'any' }),
          'EVENT_ID_REUSED',
        );
        await expectCode(
          store.append(`enrollment-${randomId()}`, [{ ...packetValidated(id), eventId }], { expectedRevision: 'any' }),
          'EVENT_ID_REUSED',
        );
      });
    });

    describe('bad input: typed errors, nothing written', () => {
      const cases: Array<[string, string, (id: string) => Promise<unknown>]> = [
        ['invalid stream id', 'STREAM_ID_INVALID', (id) => store.append(`no category ${id}`, [enrollmentSubmitted(id)], { expectedRevision: 'any' })],
        ['unknown category', 'STREAM_ID_INVALID', (id) => store.append(`planet-${id}`, [enrollmentSubmitted(id)], { expectedRevision: 'any' })],
        ['unknown event type', 'EVENT_TYPE_UNKNOWN', (id) => store.append(`enrollment-${id}`, [{ type: 'EnrollmentTeleported', data: {} }], { expectedRevision: 'any' })],
        ['event type of another category', 'EVENT_TYPE_CATEGORY_MISMATCH', (id) => store.append(`identity-${id}`, [enrollmentSubmitted(id)], { expectedRevision: 'any' })],
        ['data failing its schema', 'EVENT_DATA_INVALID', (id) => store.append(`enrollment-${id}`, [enrollmentSubmitted(id, { packetType: 'TELEPORT' })], { expectedRevision: 'any' })],
        ['data missing a required field', 'EVENT_DATA_INVALID', (id) => store.append(`enrollment-${id}`, [{ type: 'PacketValidated', data: { regId: id } }], { expectedRevision: 'any' })],
        ['data with an undeclared field', 'EVENT_DATA_INVALID', (id) => store.append(`enrollment-${id}`, [{ type: 'PacketValidated', data: { regId: id, checks: [], extra: 1 } }], { expectedRevision: 'any' })],
        ['data holding a NUL character', 'EVENT_DATA_INVALID', (id) => store.append(`enrollment-${id}`, [{ type: 'PacketValidated', data: { regId: `${id}\u0000`, checks: [] } }], { expectedRevision: 'any' })],
        ['an event over 1 MiB', 'EVENT_TOO_LARGE', (id) => store.append(`enrollment-${id}`, [enrollmentSubmitted(id, { packetHash: 'x'.repeat(MAX_EVENT_BYTES) })], { expectedRevision: 'any' })],
        ['a bad event after a good one', 'EVENT_DATA_INVALID', (id) => store.append(`enrollment-${id}`, [enrollmentSubmitted(id), { type: 'PacketValidated', data: { regId: 1 } }], { expectedRevision: 'any' })],
        ['expected revision as a string number', 'EXPECTED_REVISION_INVALID', (id) => store.append(`enrollment-${id}`, [enrollmentSubmitted(id)], { expectedRevision: '3' as never })],
        ['negative expected revision', 'EXPECTED_REVISION_INVALID', (id) => store.append(`enrollment-${id}`, [enrollmentSubmitted(id)], { expectedRevision: -1 })],
        ['fractional expected revision', 'EXPECTED_REVISION_INVALID', (id) => store.append(`enrollment-${id}`, [enrollmentSubmitted(id)], { expectedRevision: 1.5 })],
        ['missing expected revision', 'EXPECTED_REVISION_INVALID', (id) => store.append(`enrollment-${id}`, [enrollmentSubmitted(id)], {} as never)],
        ['no events', 'APPEND_EMPTY', (id) => store.append(`enrollment-${id}`, [], { expectedRevision: 'any' })],
        ['an event id that is not a UUID', 'EVENT_ID_INVALID', (id) => store.append(`enrollment-${id}`, [{ ...enrollmentSubmitted(id), eventId: 'nope' }], { expectedRevision: 'any' })],
        ['one event id twice in an append', 'EVENT_ID_DUPLICATED_IN_APPEND', (id) => {
          const eventId = `0190a1b2-c3d4-7e5f-8a9b-${randomId().slice(0, 12)}`;
          return store.append(`enrollment-${id}`, [{ ...enrollmentSubmitted(id), eventId }, { ...packetValidated(id), eventId }], { expectedRevision: 'any' });
        }],
        ['metadata with a non-string actor', 'EVENT_METADATA_INVALID', (id) => store.append(`enrollment-${id}`, [{ ...enrollmentSubmitted(id), metadata: { actor: { id: 5, role: 'x' } as never } }], { expectedRevision: 'any' })],
        ['metadata with a bad timestamp', 'EVENT_METADATA_INVALID', (id) => store.append(`enrollment-${id}`, [{ ...enrollmentSubmitted(id), metadata: { occurredAt: 'yesterday' } }], { expectedRevision: 'any' })],
      ];
      for (const [what, code, act] of cases) {
        it(`${what} → ${code}`, async () => {
          const id = randomId();
          const before = await store.headPosition();
          await expectCode(act(id), code);
          expect(await store.headPosition()).to.equal(before);
          expect(await store.readStream(`enrollment-${id}`)).to.deep.equal([]);
          expect(await store.readAll({ fromPosition: before + 1 })).to.deep.equal([]);
        });
      }
    });

    describe('subscriptions', () => {
      it('delivers history, signals caught up, then delivers live events', async () => {
        const a = randomId();
        await store.append(`enrollment-${a}`, [enrollmentSubmitted(a)], { expectedRevision: 'no_stream' });
        const sub = store.subscribe();
        const seen: SubscriptionMessage[] = [];
        let signalCaughtUp!: () => void;
        const caughtUp = new Promise<void>((resolve) => (signalCaughtUp = resolve));
        const done = (async () => {
          for await (const m of sub) {
            seen.push(m);
            if (m.kind === 'caughtUp') signalCaughtUp();
            if (seen.filter((x) => x.kind === 'event').length === 3) break;
          }
        })();
        const b = randomId();
        // The next appends are live ones: made only once the subscription said it caught up.
        await caughtUp;
        await store.append(`enrollment-${b}`, [enrollmentSubmitted(b)], { expectedRevision: 'no_stream' });
        await store.append(`identity-${b}`, [{ type: 'IdentityStatusChanged', data: { uin: b, from: 'ACTIVE', to: 'BLOCKED', reason: 'court order', source: 'OPERATOR' } }], { expectedRevision: 'any' });
        await done;
        await sub.close();
        expect(seen[0]!.kind).to.equal('event');
        expect(seen[1]!.kind).to.equal('caughtUp');
        const events = seen.filter((m): m is Extract<SubscriptionMessage, { kind: 'event' }> => m.kind === 'event').map((m) => m.event.streamId);
        expect(events).to.deep.equal([`enrollment-${a}`, `enrollment-${b}`, `identity-${b}`]);
      });

      it('filters by category and by event type, and starts from a position', async () => {
        const a = randomId();
        await store.append(`enrollment-${a}`, [enrollmentSubmitted(a), packetValidated(a)], { expectedRevision: 'no_stream' });
        await store.append(`identity-${a}`, [{ type: 'IdentityStatusChanged', data: { uin: a, from: 'ACTIVE', to: 'DECEASED', reason: 'SIGA death record', source: 'SIGA' } }], { expectedRevision: 'any' });
        const take = async (opts: Parameters<EventStore['subscribe']>[0]): Promise<string[]> => {
          const out: string[] = [];
          const sub = store.subscribe(opts);
          for await (const m of sub) {
            if (m.kind === 'caughtUp') break;
            out.push(m.event.type);
          }
          await sub.close();
          return out;
        };
        expect(await take({ filter: { categories: ['identity'] } })).to.deep.equal(['IdentityStatusChanged']);
        expect(await take({ filter: { types: ['PacketValidated', 'IdentityStatusChanged'] } })).to.deep.equal(['PacketValidated', 'IdentityStatusChanged']);
        const all = await store.readAll();
        expect(await take({ fromPosition: all[1]!.position })).to.deep.equal(['PacketValidated', 'IdentityStatusChanged']);
      });
    });

    if (h.tamper) {
      describe('integrity', () => {
        it('reports a changed byte in storage as an integrity error naming the position', async () => {
          const ids = [randomId(), randomId(), randomId()];
          for (const id of ids) await store.append(`enrollment-${id}`, [enrollmentSubmitted(id)], { expectedRevision: 'no_stream' });
          const victim = (await store.readAll())[1]!;
          await h.tamper!(victim.position);
          const err = await expectCode(store.readAll(), 'EVENT_INTEGRITY_VIOLATION');
          expect(err).to.be.instanceOf(IntegrityError);
          expect((err as IntegrityError).position).to.equal(victim.position);
          await expectCode(store.readStream(victim.streamId), 'EVENT_INTEGRITY_VIOLATION');
          // Reading around it still works, and an unverified read shows what is stored.
          expect(await store.readStream(`enrollment-${ids[0]}`)).to.have.length(1);
          expect((await store.readAll({ verify: false })).length).to.equal(3);
        });
      });
    }

    describe('ordering under concurrent writers', () => {
      it('a live subscriber gets every event exactly once, in log order, gap-free', async function () {
        const { writers, events } = h.concurrency ?? { writers: 16, events: 20_000 };
        const perWriter = Math.ceil(events / writers);
        const streams = Array.from({ length: 200 }, () => `enrollment-${randomId()}`);
        const seen: EventEnvelope[] = [];
        const sub = store.subscribe({ batchSize: 500 });
        let caughtUp = false;
        const consuming = (async () => {
          for await (const m of sub) {
            if (m.kind === 'caughtUp') caughtUp = true;
            else seen.push(m.event);
            if (seen.length >= writers * perWriter) break;
          }
        })();
        const clients: EventStore[] = [];
        for (let w = 0; w < writers; w++) clients.push(h.openAnother ? await h.openAnother() : store);
        await Promise.all(
          clients.map(async (client, w) => {
            let written = 0;
            while (written < perWriter) {
              const n = Math.min(perWriter - written, 1 + Math.floor(Math.random() * 5));
              const stream = streams[Math.floor(Math.random() * streams.length)]!;
              const id = stream.slice('enrollment-'.length);
              const batch = Array.from({ length: n }, (_, i) => (i === 0 && (w + written) % 7 === 0 ? enrollmentSubmitted(id) : packetValidated(id)));
              await client.append(stream, batch, { expectedRevision: 'any' });
              written += n;
            }
          }),
        );
        await consuming;
        await sub.close();
        for (const c of clients) if (c !== store) await c.close();

        const full = await store.readAll({ maxCount: 1_000_000 });
        expect(caughtUp).to.equal(true);
        expect(full.length).to.equal(writers * perWriter);
        expect(seen.length).to.equal(full.length);
        expect(seen.map((e) => e.eventId)).to.deep.equal(full.map((e) => e.eventId));
        expect(new Set(seen.map((e) => e.eventId)).size).to.equal(seen.length);
        for (let i = 1; i < seen.length; i++) {
          const step = seen[i]!.position - seen[i - 1]!.position;
          if (store.info.gapFreePositions) expect(step, `step at ${i}`).to.equal(1);
          else expect(step).to.be.greaterThan(0);
        }
        if (store.info.gapFreePositions) expect(seen[0]!.position).to.equal(1);
        // Every stream's revisions are 0..n-1 in log order.
        const perStream = new Map<string, number>();
        for (const e of full) {
          const next = perStream.get(e.streamId) ?? 0;
          expect(e.revision, e.streamId).to.equal(next);
          perStream.set(e.streamId, next + 1);
        }
      });
    });
  });
}
