import { expect } from 'chai';
import { PGliteDriver, SqlEventStore, type EventStore } from '@registo/event-store';
import { WrongExpectedRevisionError, isRegistoError } from '@registo/schemas';
import { type IdentityCommand, handleCommand, identityDecider, identityStreamId } from '../src/index.js';

const sealed = { subjectId: 's-1', keyVersion: 1, alg: 'A256GCM', iv: 'aXY', ciphertext: 'Y3Q' };

describe('command handler (decider runtime) on a real store', () => {
  // One embedded store for the file (each start takes seconds); every test has streams of its own.
  let store: EventStore;
  before(async () => {
    store = await SqlEventStore.open(await PGliteDriver.open());
  });
  after(() => store.close());

  const create = (uin: string, regId = 'R-1'): IdentityCommand => ({ type: 'CreateIdentity', uin, regId, residency: 'FOREIGNER', sealed });
  const block = (uin: string, to: 'BLOCKED' | 'DEACTIVATED', reason: string): IdentityCommand => ({ type: 'ChangeIdentityStatus', uin, to, reason, source: 'OPERATOR' });

  it('loads, decides, appends with metadata, and returns the folded state', async () => {
    const r = await handleCommand(store, identityDecider, identityStreamId('2345678901'), create('2345678901'), {
      metadata: { actor: { id: 'officer-1', role: 'registration_officer' }, correlationId: 'corr-9' },
    });
    expect(r.state.status).to.equal('ACTIVE');
    expect(r.events[0]!.metadata.actor.id).to.equal('officer-1');
    expect(r.events[0]!.metadata.correlationId).to.equal('corr-9');
    const again = await handleCommand(store, identityDecider, identityStreamId('2345678901'), create('2345678901'));
    expect(again.events).to.deep.equal([]);
    expect(await store.readStream(identityStreamId('2345678901'))).to.have.length(1);
  });

  it('two concurrent decides without retries: one wins, the other gets the conflict error', async () => {
    const uin = '3456789012';
    await handleCommand(store, identityDecider, identityStreamId(uin), create(uin));
    const results = await Promise.allSettled([
      handleCommand(store, identityDecider, identityStreamId(uin), block(uin, 'BLOCKED', 'fraud'), { maxRetries: 0 }),
      handleCommand(store, identityDecider, identityStreamId(uin), block(uin, 'DEACTIVATED', 'request'), { maxRetries: 0 }),
    ]);
    expect(results.filter((r) => r.status === 'fulfilled')).to.have.length(1);
    const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(lost.reason).to.be.instanceOf(WrongExpectedRevisionError);
    expect(await store.readStream(identityStreamId(uin))).to.have.length(2);
  });

  it('with retries the loser re-decides on fresh state: it succeeds when its decision still holds', async () => {
    const uin = '4567890123';
    await handleCommand(store, identityDecider, identityStreamId(uin), create(uin));
    const results = await Promise.all([
      handleCommand(store, identityDecider, identityStreamId(uin), block(uin, 'BLOCKED', 'fraud')),
      handleCommand(store, identityDecider, identityStreamId(uin), block(uin, 'DEACTIVATED', 'request')),
    ]);
    expect(results.map((r) => r.attempts).sort()).to.deep.equal([1, 2]);
    const events = await store.readStream(identityStreamId(uin));
    expect(events.map((e) => e.type)).to.deep.equal(['IdentityCreated', 'IdentityStatusChanged', 'IdentityStatusChanged']);
    expect(events[2]!.data.from).to.equal(events[1]!.data.to);
  });

  it('with retries the loser is refused when fresh state no longer allows its decision', async () => {
    const uin = '5678901234';
    const results = await Promise.allSettled([
      handleCommand(store, identityDecider, identityStreamId(uin), create(uin, 'R-1')),
      handleCommand(store, identityDecider, identityStreamId(uin), create(uin, 'R-2')),
    ]);
    const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(isRegistoError(lost.reason, 'COMMAND_REJECTED')).to.equal(true);
    expect(await store.readStream(identityStreamId(uin))).to.have.length(1);
  });
});
