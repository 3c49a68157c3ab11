import { expect } from 'chai';
import { PGliteDriver, SqlEventStore, type EventStore } from '@registo/event-store';
import { SoftwareKeyWrapper, SubjectSealer } from '@registo/crypto';
import { type EventEnvelope, RegistoError, type SealedData, isRegistoError } from '@registo/schemas';
import {
  type IdentityRecord,
  fold,
  handleCommand,
  identityDecider,
  identityFrom,
  identityStreamId,
  loadIdentity,
  readStreamOf,
  readStreamWith,
  syncDecider,
  syncStreamId,
} from '../src/index.js';

const sealed = { subjectId: 's-1', keyVersion: 1, alg: 'A256GCM', iv: 'aXY', ciphertext: 'Y3Q' };

async function failure(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected the read to fail');
}
const record = (surname: string): IdentityRecord => ({
  demographics: { givenNames: 'Ana', surname, dateOfBirth: '1990-05-06', sex: 'F', nationality: 'STP', address: { district: 'Lobata', locality: 'Guadalupe' } },
  biometrics: [],
  documents: [],
});

// One embedded store for the file (each start takes seconds); every test has streams of its own.
describe('typed reads on the embedded store', () => {
  let store: EventStore;
  let sealer: SubjectSealer;
  before(async () => {
    const db = await PGliteDriver.open();
    store = await SqlEventStore.open(db);
    sealer = await SubjectSealer.open(db, SoftwareKeyWrapper.generate());
  });
  after(() => store.close());

  describe('typed stream reads (readStreamOf, readStreamWith)', () => {
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

  describe('loadIdentity: the identity, its subject and its latest record', () => {
    async function created(uin: string, subject: string): Promise<void> {
      const sealed = await sealer.seal(subject, record('Neves'));
      await handleCommand(store, identityDecider, identityStreamId(uin), { type: 'CreateIdentity', uin, regId: `R-${uin}`, residency: 'CITIZEN', sealed, civilRegistryIndex: null });
    }
    async function updated(uin: string, subject: string, surname: string, regId: string): Promise<void> {
      const sealed = await sealer.seal(subject, record(surname));
      await handleCommand(store, identityDecider, identityStreamId(uin), { type: 'UpdateIdentity', uin, regId, changedFields: ['surname'], sealed });
    }

    it('is null for an identity that does not exist', async () => {
      expect(await loadIdentity({ store, sealer }, '9999999999')).to.equal(null);
    });

    it('answers the state, the subject of IdentityCreated and the record of the latest Created/Updated', async () => {
      const uin = '6789012345';
      await created(uin, 'subject-A');
      await updated(uin, 'subject-A', 'Costa', 'R-upd-1');
      await handleCommand(store, identityDecider, identityStreamId(uin), { type: 'ChangeIdentityStatus', uin, to: 'BLOCKED', reason: 'r', source: 'OPERATOR' });
      const identity = (await loadIdentity({ store, sealer }, uin))!;
      expect(identity.uin).to.equal(uin);
      expect(identity.subjectId).to.equal('subject-A');
      expect(identity.state.status).to.equal('BLOCKED');
      expect(identity.state.regIds).to.deep.equal([`R-${uin}`, 'R-upd-1']);
      expect(identity.latest.type).to.equal('IdentityUpdated');
      expect(identity.history.map((e) => e.type)).to.deep.equal(['IdentityCreated', 'IdentityUpdated', 'IdentityStatusChanged']);
      const opened = await identity.openRecord();
      expect(opened.erased).to.equal(false);
      expect(!opened.erased && opened.record.demographics.surname).to.equal('Costa');
    });

    it('as of a prefix of the stream, the record is the one sealed by then', async () => {
      const uin = '7890123456';
      await created(uin, 'subject-B');
      await updated(uin, 'subject-B', 'Costa', 'R-upd-2');
      const history = await readStreamOf(store, 'identity', identityStreamId(uin));
      const then = identityFrom(sealer, history.slice(0, 1))!;
      const opened = await then.openRecord();
      expect(!opened.erased && opened.record.demographics.surname).to.equal('Neves');
      expect(identityFrom(sealer, [])).to.equal(null);
    });

    it('a destroyed subject key is an outcome (erased, with the SUBJECT_KEY_DESTROYED error), not a throw', async () => {
      const uin = '8901234567';
      await created(uin, 'subject-C');
      await sealer.destroy('subject-C');
      const identity = (await loadIdentity({ store, sealer }, uin))!;
      expect(identity.subjectId).to.equal('subject-C');
      const opened = await identity.openRecord();
      expect(opened.erased).to.equal(true);
      expect(opened.erased && opened.error.code).to.equal('SUBJECT_KEY_DESTROYED');
    });

    it('any other failure to open throws; the record is opened once however often it is asked for', async () => {
      const uin = '9012345678';
      await created(uin, 'subject-D');
      let opens = 0;
      const failing = {
        open: async <T>(_sealed: SealedData): Promise<T> => {
          opens++;
          throw new RegistoError('SUBJECT_KEY_UNAVAILABLE', 'no key here');
        },
      };
      const identity = (await loadIdentity({ store, sealer: failing }, uin))!;
      let thrown: unknown;
      await identity.openRecord().catch((e: unknown) => (thrown = e));
      expect(thrown).to.be.instanceOf(RegistoError);
      expect((thrown as RegistoError).code).to.equal('SUBJECT_KEY_UNAVAILABLE');
      await identity.openRecord().catch(() => undefined);
      expect(opens).to.equal(1);
    });
  });
});
