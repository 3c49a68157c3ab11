import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { PGliteDriver, SqlEventStore } from '@registo/event-store';
import { SoftwareKeyWrapper, SubjectSealer } from '@registo/crypto';
import type {
  BiometricIdentification,
  CivilRegistry,
  ImmigrationRegistry,
  PermitVerificationResult,
  VerificationResult,
} from '@registo/external';
import {
  type EnrollmentPersonalData,
  type EnrollmentState,
  enrollmentDecider,
  enrollmentStreamId,
  fold,
  handleCommand,
  subjectIdFor,
  readStreamOf,
} from '@registo/producers';
import { RegistoError, type EventEnvelope, type Residency } from '@registo/schemas';
import { createEnrollmentProcess, type EnrollmentProcess } from '../../src/index.js';

/*
 * The enrollment executor (createEnrollmentProcess) over in-process adapters: the event store,
 * claims and subject keys on PGlite in memory, and fake SIGA, Immigration and ABIS ports that
 * record each call. Given how the outside world answers, when the packet's events are handed to
 * the executor as a consumer would, then the log holds what the process decided.
 */

const CENTRE = '10031';
const device = { deviceId: 'device-1', centreId: CENTRE };

/** Fake ports: each answer comes from the scenario (a function may throw), and every call is recorded. */
interface World {
  siga?: () => VerificationResult;
  immigration?: () => PermitVerificationResult;
  identify?: () => Array<{ referenceId: string; score: number }>;
}

interface Calls {
  siga: Array<{ civilRegistryNumber: string; idempotencyKey: string | undefined }>;
  immigration: Array<{ permitNumber: string }>;
  identify: Array<{ referenceId: string; idempotencyKey: string | undefined }>;
}

const unavailable = (system: string) => () => {
  throw new RegistoError('EXTERNAL_UNAVAILABLE', `${system} did not answer`);
};

function ports(world: World, calls: Calls): { siga: CivilRegistry; immigration: ImmigrationRegistry; abis: BiometricIdentification } {
  return {
    siga: {
      verify: async (input, options) => {
        calls.siga.push({ civilRegistryNumber: input.civilRegistryNumber, idempotencyKey: options?.idempotencyKey });
        return (world.siga ?? (() => ({ outcome: 'MATCH', discrepancies: [] })))();
      },
      person: async () => null,
    },
    immigration: {
      verify: async (input) => {
        calls.immigration.push({ permitNumber: input.permitNumber });
        return (world.immigration ?? (() => ({ outcome: 'MATCH', discrepancies: [], permitStatus: 'VALID' })))();
      },
      permit: async () => null,
    },
    abis: {
      identify: async (input, options) => {
        calls.identify.push({ referenceId: input.referenceId, idempotencyKey: options?.idempotencyKey });
        return { matches: (world.identify ?? (() => []))() };
      },
      verify: async () => ({ outcome: 'NO_REFERENCE', score: null, referenceId: null }),
      remove: async () => undefined,
    },
  };
}

function personal(residency: Residency, n: number): EnrollmentPersonalData {
  const number = String(n).padStart(7, '0');
  return {
    demographics: {
      givenNames: 'Ana',
      surname: 'Teste',
      dateOfBirth: '1990-01-01',
      sex: 'F',
      nationality: residency === 'CITIZEN' ? 'STP' : 'PRT',
      address: { district: 'Água Grande', locality: 'São Tomé' },
      ...(residency === 'CITIZEN' ? { civilRegistryNumber: `RC-${number}-1` } : { residencePermitNumber: `AR-${number}` }),
    },
    documents: [],
    biometrics: [{ modality: 'FACE', position: 'FACE', format: 'ISO_19794_5', template: `face-${n}`, quality: 90 }],
  };
}

describe('the enrollment executor with fake SIGA, Immigration and ABIS ports (PGlite in memory)', function () {
  let db: PGliteDriver;
  let store: SqlEventStore;
  let sealer: SubjectSealer;
  let serial = 0;

  before(async () => {
    db = await PGliteDriver.open();
    store = await SqlEventStore.open(db);
    sealer = await SubjectSealer.open(db, SoftwareKeyWrapper.generate());
  });
  after(async () => store?.close());

  /** The executor with its own claims keys; one per scenario, all on the suite's database. */
  async function given(world: World): Promise<{ process: EnrollmentProcess; calls: Calls }> {
    const calls: Calls = { siga: [], immigration: [], identify: [] };
    const process = createEnrollmentProcess({ store, db, sealer, ...ports(world, calls), indexKey: randomBytes(32), uinKey: randomBytes(32), backoffMs: () => 0 });
    await process.migrate();
    return { process, calls };
  }

  /** Intake accepts a packet (submitted and validated in one append); returns its registration id. */
  async function accepted(residency: Residency, data: EnrollmentPersonalData = personal(residency, ++serial)): Promise<string> {
    const regId = `${CENTRE}-${String(++serial).padStart(5, '0')}-20261120100000`;
    const sealed = await sealer.seal(subjectIdFor(regId), data);
    await handleCommand(store, enrollmentDecider, enrollmentStreamId(regId), {
      type: 'AcceptPacket',
      regId,
      packetType: 'NEW',
      residency,
      centreId: CENTRE,
      operatorId: 'operator-1',
      deviceId: device.deviceId,
      capturedAt: '2026-11-20T10:00:00Z',
      packetHash: `hash-${regId}`,
      sealed,
      checks: ['signature'],
      device,
    });
    return regId;
  }

  /**
   * Hands every event of the enrollment to the executor in log order, as the consumer does, until
   * it appends nothing more. A delivery that throws is delivered again (delivery + 1), as the
   * consumer's retries do; `redeliver` hands each event over twice, as after a crash.
   */
  async function whenProcessed(process: EnrollmentProcess, regId: string, options: { redeliver?: boolean } = {}): Promise<{ types: string[]; state: EnrollmentState; failedDeliveries: string[] }> {
    const failedDeliveries: string[] = [];
    const done = new Set<string>();
    for (let round = 0; round < 50; round++) {
      const pending = (await store.readStream(enrollmentStreamId(regId))).filter((e) => !done.has(e.eventId));
      if (pending.length === 0) break;
      for (const event of pending) {
        done.add(event.eventId);
        for (let copy = 0; copy < (options.redeliver ? 2 : 1); copy++) await deliver(process, event, failedDeliveries);
      }
    }
    const history = await readStreamOf(store, 'enrollment', enrollmentStreamId(regId));
    return { types: history.map((e) => e.type), state: fold(enrollmentDecider, history), failedDeliveries };
  }

  async function deliver(process: EnrollmentProcess, event: EventEnvelope, failed: string[]): Promise<void> {
    for (let delivery = 1; ; delivery++) {
      try {
        return await process.handle(event, delivery);
      } catch (e) {
        if (delivery >= 5) throw e;
        failed.push(`${event.type}#${delivery}:${(e as RegistoError).code}`);
      }
    }
  }

  it('given SIGA confirms a citizen and the ABIS knows no one, the enrollment is approved under a new UIN, asking each once', async () => {
    const { process, calls } = await given({});
    const regId = await accepted('CITIZEN');
    const { types, state } = await whenProcessed(process, regId);
    expect(types).to.deep.equal(['EnrollmentSubmitted', 'PacketValidated', 'ExternalCheckRequested', 'ExternalCheckCompleted', 'EnrollmentApproved']);
    expect(state.uin).to.match(/^[0-9]{10}$/);
    expect(calls.siga).to.have.length(1);
    expect(calls.siga[0]!.civilRegistryNumber).to.match(/^RC-/);
    expect(calls.identify).to.deep.equal([{ referenceId: regId, idempotencyKey: regId }]);
    expect(calls.immigration).to.deep.equal([]);
    expect(await store.readStream(`identity-${state.uin}`)).to.have.length(1);
  });

  it('given every event delivered twice, the log is the same and the UIN is drawn once', async () => {
    const { process } = await given({});
    const regId = await accepted('CITIZEN');
    const { types, state } = await whenProcessed(process, regId, { redeliver: true });
    expect(types).to.deep.equal(['EnrollmentSubmitted', 'PacketValidated', 'ExternalCheckRequested', 'ExternalCheckCompleted', 'EnrollmentApproved']);
    expect((await store.readStream(`identity-${state.uin}`)).map((e) => e.type)).to.deep.equal(['IdentityCreated']);
  });

  it('given Immigration confirms a foreigner whose permit has expired, the check is a mismatch an officer gets', async () => {
    const { process, calls } = await given({ immigration: () => ({ outcome: 'MATCH', discrepancies: [], permitStatus: 'EXPIRED' }) });
    const regId = await accepted('FOREIGNER');
    const { types, state } = await whenProcessed(process, regId);
    expect(types.slice(-2)).to.deep.equal(['ExternalCheckCompleted', 'AdjudicationRequested']);
    expect(state.completedChecks).to.deep.include({ checkId: `${regId}:IMMIGRATION:1`, system: 'IMMIGRATION', outcome: 'MISMATCH' });
    expect(state.status).to.equal('IN_ADJUDICATION');
    expect(calls.immigration).to.have.length(1);
    expect(calls.siga).to.deep.equal([]);
    expect(calls.identify).to.deep.equal([]);
  });

  it('given SIGA never answers, it is asked the policy’s three times, then an officer checks by hand', async () => {
    const { process, calls } = await given({ siga: unavailable('SIGA') });
    const regId = await accepted('CITIZEN');
    const { types, state } = await whenProcessed(process, regId);
    expect(types.filter((t) => t === 'ExternalCheckRequested')).to.have.length(3);
    expect(types.at(-1)).to.equal('AdjudicationRequested');
    expect(state.completedChecks.map((c) => c.outcome)).to.deep.equal(['UNAVAILABLE', 'UNAVAILABLE', 'UNAVAILABLE']);
    expect(calls.siga).to.have.length(3);
    // Each attempt carries its own event's id: a repeat of one attempt is recognised, a new attempt is not.
    expect(new Set(calls.siga.map((c) => c.idempotencyKey)).size).to.equal(3);
  });

  it('given the ABIS finds the same face, a biometric duplicate goes to an officer and no identity is made', async () => {
    const { process } = await given({ identify: () => [{ referenceId: 'ref-other', score: 0.97 }] });
    const regId = await accepted('CITIZEN');
    const { types, state } = await whenProcessed(process, regId);
    expect(types.slice(-2)).to.deep.equal(['DuplicateSuspected', 'AdjudicationRequested']);
    expect(state.uin).to.equal(null);
    expect(state.status).to.equal('IN_ADJUDICATION');
  });

  it('given the ABIS is unreachable, the consumer redelivers twice, then the third delivery hands de-duplication to an officer', async () => {
    const { process, calls } = await given({ identify: unavailable('ABIS') });
    const regId = await accepted('CITIZEN');
    const { types, failedDeliveries } = await whenProcessed(process, regId);
    expect(failedDeliveries).to.deep.equal(['ExternalCheckCompleted#1:EXTERNAL_UNAVAILABLE', 'ExternalCheckCompleted#2:EXTERNAL_UNAVAILABLE']);
    expect(calls.identify).to.have.length(3);
    expect(types.at(-1)).to.equal('AdjudicationRequested');
    const requested = (await store.readStream(enrollmentStreamId(regId))).at(-1)!;
    expect(requested.data).to.include({ adjudicationId: `adj-${regId}:abis` });
  });

  it('given a second packet with the same civil-registry number, it is a demographic duplicate of the first and the ABIS is not asked', async () => {
    const { process, calls } = await given({});
    const data = personal('CITIZEN', 9_000_001);
    const first = await accepted('CITIZEN', data);
    const approved = await whenProcessed(process, first);
    const second = await accepted('CITIZEN', { ...data, biometrics: [{ ...data.biometrics[0]!, template: 'another face' }] });
    const { types } = await whenProcessed(process, second);
    expect(types.slice(-2)).to.deep.equal(['DuplicateSuspected', 'AdjudicationRequested']);
    const suspected = (await store.readStream(enrollmentStreamId(second))).find((e) => e.type === 'DuplicateSuspected')!;
    expect(suspected.data).to.include({ candidateUin: approved.state.uin, method: 'DEMOGRAPHIC' });
    expect(calls.identify.map((c) => c.referenceId)).to.deep.equal([first]);
  });
});
