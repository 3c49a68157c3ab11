import { expect } from 'chai';
import { PGliteDriver, SoftwareKeyWrapper, SqlEventStore, SubjectSealer, type EventStore } from '@registo/infra';
import { RegistoError, type SealedData } from '@registo/schemas';
import { type IdentityRecord, handleCommand, identityDecider, identityFrom, identityStreamId, loadIdentity, readStreamOf } from '../src/index.js';

const record = (surname: string): IdentityRecord => ({
  demographics: { givenNames: 'Ana', surname, dateOfBirth: '1990-05-06', sex: 'F', nationality: 'STP', address: { district: 'Lobata', locality: 'Guadalupe' } },
  biometrics: [],
  documents: [],
});

describe('loadIdentity: the identity, its subject and its latest record', () => {
  let store: EventStore;
  let sealer: SubjectSealer;
  before(async () => {
    const db = await PGliteDriver.open();
    store = await SqlEventStore.open(db);
    sealer = await SubjectSealer.open(db, SoftwareKeyWrapper.generate());
  });
  after(() => store.close());

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
    const uin = '2345678901';
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
    const uin = '3456789012';
    await created(uin, 'subject-B');
    await updated(uin, 'subject-B', 'Costa', 'R-upd-2');
    const history = await readStreamOf(store, 'identity', identityStreamId(uin));
    const then = identityFrom(sealer, history.slice(0, 1))!;
    const opened = await then.openRecord();
    expect(!opened.erased && opened.record.demographics.surname).to.equal('Neves');
    expect(identityFrom(sealer, [])).to.equal(null);
  });

  it('a destroyed subject key is an outcome (erased, with the SUBJECT_KEY_DESTROYED error), not a throw', async () => {
    const uin = '4567890123';
    await created(uin, 'subject-C');
    await sealer.destroy('subject-C');
    const identity = (await loadIdentity({ store, sealer }, uin))!;
    expect(identity.subjectId).to.equal('subject-C');
    const opened = await identity.openRecord();
    expect(opened.erased).to.equal(true);
    expect(opened.erased && opened.error.code).to.equal('SUBJECT_KEY_DESTROYED');
  });

  it('any other failure to open throws; the record is opened once however often it is asked for', async () => {
    const uin = '5678901234';
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
