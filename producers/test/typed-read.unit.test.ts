import { expect } from 'chai';
import { PGliteDriver, SqlEventStore, type EventStore } from '@registo/infra';
import { type EventEnvelope, isRegistoError } from '@registo/schemas';
import { fold, handleCommand, identityDecider, identityStreamId, readStreamOf, readStreamWith, syncDecider, syncStreamId } from '../src/index.js';

const sealed = { subjectId: 's-1', keyVersion: 1, alg: 'A256GCM', iv: 'aXY', ciphertext: 'Y3Q' };

async function failure(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected the read to fail');
}

describe('typed stream reads (readStreamOf, readStreamWith) on the embedded store', () => {
  let store: EventStore;
  before(async () => {
    store = await SqlEventStore.open(await PGliteDriver.open());
  });
  after(() => store.close());

  it('returns the stream typed by its category: data is read and folded without a cast', async () => {
    const uin = '2345678901';
    await handleCommand(store, identityDecider, identityStreamId(uin), { type: 'CreateIdentity', uin, regId: 'R-1', residency: 'CITIZEN', sealed, civilRegistryIndex: 'idx-1' });
    await handleCommand(store, identityDecider, identityStreamId(uin), { type: 'ChangeIdentityStatus', uin, to: 'BLOCKED', reason: 'fraud', source: 'OPERATOR' });
    const events = await readStreamOf(store, 'identity', identityStreamId(uin));
    expect(events.map((e) => e.type)).to.deep.equal(['IdentityCreated', 'IdentityStatusChanged']);
    const changed = events[1]!;
    if (changed.type !== 'IdentityStatusChanged') throw new Error(changed.type);
    expect([changed.data.from, changed.data.to]).to.deep.equal(['ACTIVE', 'BLOCKED']);
    const state = fold(identityDecider, events);
    expect([state.status, state.civilRegistryIndex]).to.deep.equal(['BLOCKED', 'idx-1']);
  });

  it('an event of another category fails the read with EVENT_NOT_OF_CATEGORY', async () => {
    const uin = '3456789012';
    await handleCommand(store, identityDecider, identityStreamId(uin), { type: 'CreateIdentity', uin, regId: 'R-2', residency: 'FOREIGNER', sealed });
    const e = await failure(readStreamOf(store, 'enrollment', identityStreamId(uin)));
    expect(isRegistoError(e, 'EVENT_NOT_OF_CATEGORY'), String(e)).to.equal(true);
    expect(isRegistoError(e) && e.details).to.include({ streamId: identityStreamId(uin), revision: 0, type: 'IdentityCreated', expected: 'enrollment' });
  });

  it('data the schema refuses (a store handing back altered data) fails the read', async () => {
    const uin = '4567890123';
    await handleCommand(store, identityDecider, identityStreamId(uin), { type: 'CreateIdentity', uin, regId: 'R-3', residency: 'CITIZEN', sealed });
    const altered: Pick<EventStore, 'readStream'> = {
      readStream: async (id, options) => (await store.readStream(id, options)).map((x): EventEnvelope => ({ ...x, data: { ...x.data, residency: 'MARTIAN' } })),
    };
    const e = await failure(readStreamOf(altered, 'identity', identityStreamId(uin)));
    expect(isRegistoError(e, 'EVENT_NOT_OF_CATEGORY'), String(e)).to.equal(true);
  });

  it("a decider reads its streams through its own guard: a mismatch's event in a sync job's stream is refused", async () => {
    const syncId = 'siga.typed-read-1';
    await handleCommand(store, syncDecider, syncStreamId(syncId), {
      type: 'RequestSync', syncId, system: 'SIGA', direction: 'OUTBOUND', operation: 'ENROLLED', uin: '2345678901',
      sourceEventId: 'e-1', sourceStreamId: null, sourceRevision: null, sourceType: 'IdentityCreated', fields: [],
    });
    expect((await readStreamWith(store, syncStreamId(syncId), syncDecider.accepts, 'sync job')).map((e) => e.type)).to.deep.equal(['SyncRequested']);
    // Same category, so the store takes it; it is still not a sync job's event.
    await store.append(syncStreamId(syncId), [{ type: 'ReconciliationResolutionChosen', data: { mismatchId: 'm', system: 'SIGA', uin: '2345678901', field: 'surname', action: 'ACCEPT_REGISTER', by: 'op', note: 'n' } }], { expectedRevision: 0 });
    const e = await failure(handleCommand(store, syncDecider, syncStreamId(syncId), { type: 'DeadLetterSync', syncId, system: 'SIGA', code: 'X', reason: 'r' }));
    expect(isRegistoError(e, 'EVENT_NOT_OF_CATEGORY'), String(e)).to.equal(true);
    expect(isRegistoError(e) && e.details).to.include({ type: 'ReconciliationResolutionChosen', revision: 1 });
  });

  it('handleCommand returns the appended events typed', async () => {
    const uin = '5678901234';
    const r = await handleCommand(store, identityDecider, identityStreamId(uin), { type: 'CreateIdentity', uin, regId: 'R-5', residency: 'CITIZEN', sealed });
    const created = r.events[0]!;
    if (created.type !== 'IdentityCreated') throw new Error(created.type);
    expect(created.data.regId).to.equal('R-5');
  });
});
