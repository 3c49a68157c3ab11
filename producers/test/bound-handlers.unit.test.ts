import { expect } from 'chai';
import { PGliteDriver, SqlEventStore, type EventStore } from '@registo/event-store';
import { commandHandler, enrollmentHandler, identityDecider, identityHandler, identityStreamId } from '../src/index.js';

/* Handlers bound once per decider: callers name the aggregate, the binding names its stream. */

const sealed = { subjectId: 's-1', keyVersion: 1, alg: 'A256GCM', iv: 'aXY', ciphertext: 'Y3Q' };

describe('bound command handlers', () => {
  let store: EventStore;
  before(async () => {
    store = await SqlEventStore.open(await PGliteDriver.open());
  });
  after(() => store.close());

  it('given a decider bound to a stream naming, when a command is handled for an id, then it lands in that stream', async () => {
    const named: string[] = [];
    const handler = commandHandler(identityDecider, (uin: string) => {
      named.push(uin);
      return `identity-${uin}`;
    });
    const r = await handler(store, '3456789012', { type: 'CreateIdentity', uin: '3456789012', regId: 'R-2', residency: 'CITIZEN', sealed });
    expect(named).to.deep.equal(['3456789012']);
    expect(r.events.map((e) => e.streamId)).to.deep.equal(['identity-3456789012']);
  });

  it('given the identity handler, when it creates an identity, then the identity stream holds it and the state is folded', async () => {
    const r = await identityHandler(store, '4567890123', { type: 'CreateIdentity', uin: '4567890123', regId: 'R-3', residency: 'FOREIGNER', sealed });
    expect(r.state.status).to.equal('ACTIVE');
    expect((await store.readStream(identityStreamId('4567890123'))).map((e) => e.type)).to.deep.equal(['IdentityCreated']);
  });

  it('given the enrollment handler, when a refused command is handled, then the decider refuses it and nothing is appended', async () => {
    const regId = '10031-00009-20261120100000';
    let refused: unknown;
    try {
      await enrollmentHandler(store, regId, { type: 'ValidatePacket', regId, checks: [] });
    } catch (e) {
      refused = e;
    }
    expect(refused).to.have.property('code', 'COMMAND_REJECTED');
    expect(await store.readStream(`enrollment-${regId}`)).to.deep.equal([]);
  });
});
