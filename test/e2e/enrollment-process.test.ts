import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { createLogger } from '@registo/base';
import { type EventStore, PostgresDriver } from '@registo/event-store';
import { SubjectSealer, blindIndex } from '@registo/crypto';
import type { EnrollmentPacket } from '@registo/packets';
import { SqlDeadLetterSink, StoreEventSource, StreamParallelConsumer } from '@registo/messaging';
import { type EnrollmentProcess, type EnrollmentProcessDeps, createEnrollmentProcess } from '@registo/consumers';
import { ApiTokens, createHttpApp, registerIntakeRoutes } from '@registo/gateways';
import {
  type IdentityRecord,
  enrollmentDecider,
  enrollmentStreamId,
  generateUin,
  handleCommand,
  identityStreamId,
  subjectIdFor,
  uinViolations,
} from '@registo/producers';
import { type RunningSimulators, createPopulation, startSimulators } from '@registo/simulators';
import type { EventEnvelope, SealedData } from '@registo/schemas';
import {
  type PacketTestEnv,
  PopulationPicker,
  type TestDatabase,
  citizenPacket,
  createPacketTestEnv,
  createTestDatabase,
  expectLogIntact,
  foreignerPacket,
  openSealedStore,
  processSettled,
  simulatorConnectors,
} from '../src/index.js';

/** `inner` with its appends going through `append`; closing it leaves `inner` open (the suite closes that). */
function appendingThrough(inner: EventStore, append: EventStore['append']): EventStore {
  return {
    info: inner.info,
    append,
    readStream: (s, o) => inner.readStream(s, o),
    readAll: (o) => inner.readAll(o),
    subscribe: (o) => inner.subscribe(o),
    headPosition: () => inner.headPosition(),
    storeId: () => inner.storeId(),
    ping: () => inner.ping(),
    close: async () => undefined,
  };
}

/** An event store that holds every append to an identity stream until `parties` of them are waiting: two allocations race for real. */
function racingStore(inner: EventStore, parties: number, timeoutMs = 3_000): EventStore & { arrivals: string[] } {
  const arrivals: string[] = [];
  const waiting: Array<() => void> = [];
  const arrive = (streamId: string): Promise<void> =>
    new Promise((resolve) => {
      arrivals.push(streamId);
      if (arrivals.length >= parties) {
        for (const release of waiting.splice(0)) release();
        return resolve();
      }
      waiting.push(resolve);
      setTimeout(resolve, timeoutMs);
    });
  return {
    ...appendingThrough(inner, async (streamId, events, options) => {
      if (streamId.startsWith('identity-')) await arrive(streamId);
      return inner.append(streamId, events, options);
    }),
    arrivals,
  };
}

/** An event store that holds appends to identity streams until released; `reached` resolves when the first one waits. */
function gatedStore(inner: EventStore): EventStore & { reached: Promise<void>; release(): void } {
  let reach!: () => void;
  let release!: () => void;
  const reached = new Promise<void>((r) => (reach = r));
  const released = new Promise<void>((r) => (release = r));
  return {
    ...appendingThrough(inner, async (streamId, events, options) => {
      if (streamId.startsWith('identity-')) {
        reach();
        await released;
      }
      return inner.append(streamId, events, options);
    }),
    reached,
    release,
  };
}

/** An event store through which the process "crashes" once, right before it would approve an enrollment. */
function crashingBeforeApproval(inner: EventStore): EventStore {
  let crashed = false;
  return appendingThrough(inner, async (streamId, events, options) => {
    if (!crashed && events[0]?.type === 'EnrollmentApproved') {
      crashed = true;
      throw new Error('process killed between IdentityCreated and EnrollmentApproved');
    }
    return inner.append(streamId, events, options);
  });
}

describe('enrollment process on PostgreSQL with the SIGA, Immigration and ABIS simulators (embedded)', function () {
  this.timeout(120_000);
  const logger = createLogger('silent');
  const indexKey = randomBytes(32);
  const uinKey = randomBytes(32);
  const picker = new PopulationPicker(createPopulation(), 100);
  let env: PacketTestEnv;
  let db: TestDatabase;
  let driver: PostgresDriver;
  let store: EventStore;
  let sealer: SubjectSealer;
  let sims: RunningSimulators;
  let intake: FastifyInstance;
  let intakeUrl: string;
  let deps: EnrollmentProcessDeps;
  let handler: EnrollmentProcess;
  let consumer: StreamParallelConsumer | undefined;
  let running: Promise<void> | undefined;
  /** Attempts the process waited before (backoffMs calls), and what a test wants done meanwhile. */
  const backoffs: number[] = [];
  let duringBackoff: ((attempt: number) => void) | undefined;

  const startConsumer = (): void => {
    consumer = new StreamParallelConsumer(driver, handler, new StoreEventSource(store), new SqlDeadLetterSink(driver), {
      concurrency: 8,
      retryDelayMs: 50,
      logger,
    });
    running = consumer.run();
  };
  const stopConsumer = async (): Promise<void> => {
    await consumer?.stop();
    await running;
    consumer = undefined;
  };

  const submit = async (packet: EnrollmentPacket): Promise<void> => {
    const res = await fetch(`${intakeUrl}/v1/packets`, { method: 'POST', headers: { 'content-type': 'application/jose' }, body: await env.seal(packet) });
    expect(res.status, JSON.stringify(await res.clone().json())).to.equal(202);
  };

  const settled = (timeoutMs = 30_000): Promise<void> => processSettled(driver, timeoutMs);

  const stream = (id: string): Promise<EventEnvelope[]> => store.readStream(id);
  const types = (events: EventEnvelope[]): string[] => events.map((e) => e.type);
  const identitiesCreatedFor = async (regId: string): Promise<string[]> =>
    (await driver.query<{ stream_id: string }>(`SELECT stream_id FROM registo_events WHERE type = 'IdentityCreated' AND data->>'regId' = $1`, [regId])).map((r) => r.stream_id);
  const sigaRequests = (): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const byOutcome of Object.values(sims.sigaFaults.stats.byRoute)) for (const [k, n] of Object.entries(byOutcome)) out[k] = (out[k] ?? 0) + n;
    return out;
  };

  /** The end-of-test checks after an outage or a crash (no read models are kept in this world). */
  const expectIntact = (acceptedRegIds: string[]): Promise<void> =>
    expectLogIntact({ db: driver, store, acceptedRegIds, readModels: false, ledgers: { SIGA: sims.sigaLedger.stats, IMMIGRATION: sims.immigrationLedger.stats } });

  /**
   * Runs `body` with the consumer stopped, so the test drives the process by hand; then the
   * consumer resumes from its offset, sees those events again and must add nothing.
   */
  const withConsumerStopped = async (body: () => Promise<void>): Promise<void> => {
    await settled();
    await stopConsumer();
    try {
      await body();
    } finally {
      const head = await store.headPosition();
      startConsumer();
      await settled();
      expect(await store.headPosition()).to.equal(head);
    }
  };

  /** Submits a packet, waits until the process has nothing left to do, and returns the enrollment's events. */
  const processed = async (packet: EnrollmentPacket): Promise<EventEnvelope[]> => {
    await submit(packet);
    await settled();
    return stream(enrollmentStreamId(packet.regId));
  };

  /** Submits a NEW packet and waits for its approval; returns the UIN. */
  const enrol = async (packet: EnrollmentPacket): Promise<string> => {
    const events = await processed(packet);
    expect(events.at(-1)?.type, `${packet.regId}: ${types(events).join(', ')}`).to.equal('EnrollmentApproved');
    return events.at(-1)!.data.uin as string;
  };

  before(async () => {
    env = await createPacketTestEnv();
    db = await createTestDatabase();
    ({ driver, store, sealer } = await openSealedStore(db.url));
    sims = await startSimulators({ sigaPort: 0, immigrationPort: 0, abisPort: 0 });
    intake = createHttpApp(logger);
    registerIntakeRoutes(intake, { store, sealer, trust: env.trust, tokens: ApiTokens.parse('tok:client-1:registration_client') });
    intakeUrl = await intake.listen({ port: 0, host: '127.0.0.1' });
    deps = {
      store,
      db: driver,
      sealer,
      ...simulatorConnectors(sims),
      indexKey,
      uinKey,
      backoffMs: (attempt) => {
        backoffs.push(attempt);
        duringBackoff?.(attempt);
        return 25;
      },
      logger,
    };
    handler = createEnrollmentProcess(deps);
    await handler.migrate();
    startConsumer();
  });

  beforeEach(() => {
    backoffs.length = 0;
    duringBackoff = undefined;
    sims.sigaFaults.reset();
    sims.sigaFaults.clearStats();
  });

  afterEach(async () => {
    // Nothing the process was given may have failed for good.
    const letters = await driver.query<{ type: string; reason: string }>('SELECT type, reason FROM registo_dead_letters').catch(() => []);
    expect(letters).to.deep.equal([]);
  });

  after(async () => {
    await stopConsumer().catch(() => undefined);
    await intake?.close();
    await sims?.close();
    await store?.close();
    await db?.drop();
  });

  it('a citizen SIGA knows: one check, a UIN that passes the rules, an identity indexed by civil-registry number whose record opens to the applicant', async () => {
    const citizen = picker.citizen();
    const packet = citizenPacket(citizen);
    const enrollment = await processed(packet);
    expect(types(enrollment)).to.deep.equal(['EnrollmentSubmitted', 'PacketValidated', 'ExternalCheckRequested', 'ExternalCheckCompleted', 'EnrollmentApproved']);
    const [, validated, requested, completed, approved] = enrollment as [EventEnvelope, EventEnvelope, EventEnvelope, EventEnvelope, EventEnvelope];
    expect(requested.data).to.deep.equal({ regId: packet.regId, system: 'SIGA', checkId: `${packet.regId}:SIGA:1`, attempt: 1 });
    expect(completed.data).to.deep.equal({ regId: packet.regId, system: 'SIGA', checkId: `${packet.regId}:SIGA:1`, outcome: 'MATCH', discrepancies: [] });
    const uin = approved.data.uin as string;
    expect(uin).to.match(/^\d{10}$/);
    expect(uinViolations(uin)).to.deep.equal([]);

    const identity = await stream(identityStreamId(uin));
    expect(types(identity)).to.deep.equal(['IdentityCreated']);
    const created = identity[0]!;
    expect(created.data).to.include({ uin, regId: packet.regId, residency: 'CITIZEN', civilRegistryIndex: blindIndex(citizen.civilRegistryNumber, indexKey) });
    // The identity keeps the enrollment's subject: one key opens, and erasure closes, both.
    const sealed = created.data.sealed as SealedData;
    expect(sealed.subjectId).to.equal(subjectIdFor(packet.regId));
    const record = await sealer.open<IdentityRecord>(sealed);
    expect(record.demographics).to.deep.equal(packet.demographics);
    expect(record.demographics.civilRegistryNumber).to.equal(citizen.civilRegistryNumber);
    expect(record.biometrics).to.deep.equal(packet.biometrics.map((b) => ({ modality: b.modality, position: b.position })));
    expect(JSON.stringify(record)).not.to.include(packet.biometrics[0]!.template);
    expect(record.documents).to.deep.equal(packet.documents);

    // Each step names the event that caused it, within the enrollment's correlation.
    expect(requested.metadata.causationId).to.equal(validated.eventId);
    expect(completed.metadata.causationId).to.equal(requested.eventId);
    expect(created.metadata.causationId).to.equal(completed.eventId);
    expect(approved.metadata.causationId).to.equal(completed.eventId);
    for (const e of [requested, completed, created, approved]) {
      expect(e.metadata.correlationId, e.type).to.equal(packet.regId);
      expect(e.metadata.actor, e.type).to.deep.equal({ id: 'enrollment-process', role: 'system' });
    }
    expect(await identitiesCreatedFor(packet.regId)).to.deep.equal([identityStreamId(uin)]);
    expect(sigaRequests()).to.deep.equal({ ok: 1 });
  });

  it('a foreigner with a valid permit is checked with Immigration and approved; with an expired permit the mismatch goes to an officer', async () => {
    const valid = foreignerPacket(picker.foreigner('VALID'));
    const expired = foreignerPacket(picker.foreigner('EXPIRED'));
    await submit(valid);
    await submit(expired);
    await settled();

    const ok = await stream(enrollmentStreamId(valid.regId));
    expect(types(ok)).to.deep.equal(['EnrollmentSubmitted', 'PacketValidated', 'ExternalCheckRequested', 'ExternalCheckCompleted', 'EnrollmentApproved']);
    expect(ok[2]!.data).to.deep.equal({ regId: valid.regId, system: 'IMMIGRATION', checkId: `${valid.regId}:IMMIGRATION:1`, attempt: 1 });
    expect(ok[3]!.data).to.include({ outcome: 'MATCH' });
    const uin = ok[4]!.data.uin as string;
    expect(uinViolations(uin)).to.deep.equal([]);
    const identity = await stream(identityStreamId(uin));
    expect(types(identity)).to.deep.equal(['IdentityCreated']);
    expect(identity[0]!.data).to.include({ regId: valid.regId, residency: 'FOREIGNER', civilRegistryIndex: null });
    expect((await sealer.open<IdentityRecord>(identity[0]!.data.sealed as SealedData)).demographics).to.deep.equal(valid.demographics);

    const refused = await stream(enrollmentStreamId(expired.regId));
    expect(types(refused)).to.deep.equal(['EnrollmentSubmitted', 'PacketValidated', 'ExternalCheckRequested', 'ExternalCheckCompleted', 'AdjudicationRequested']);
    expect(refused[2]!.data).to.include({ system: 'IMMIGRATION', attempt: 1 });
    expect(refused[3]!.data).to.deep.equal({
      regId: expired.regId,
      system: 'IMMIGRATION',
      checkId: `${expired.regId}:IMMIGRATION:1`,
      outcome: 'MISMATCH',
      discrepancies: ['permitStatus:EXPIRED'],
    });
    expect(refused[4]!.data).to.deep.equal({
      regId: expired.regId,
      adjudicationId: `adj-${expired.regId}:IMMIGRATION:1`,
      reasons: ['IMMIGRATION disagrees on permitStatus:EXPIRED'],
    });
    expect(await identitiesCreatedFor(expired.regId)).to.deep.equal([]);
    // Citizens' registry was not asked about foreigners.
    expect(sigaRequests()).to.deep.equal({});
  });

  it('SIGA down: three attempts with backoff, then an officer is asked to check by hand; when SIGA is back nothing more happens', async () => {
    sims.sigaFaults.update({ outageUntil: new Date(Date.now() + 10 * 60_000).toISOString() });
    const packet = citizenPacket(picker.citizen());
    const events = await processed(packet);
    expect(types(events)).to.deep.equal([
      'EnrollmentSubmitted',
      'PacketValidated',
      'ExternalCheckRequested',
      'ExternalCheckCompleted',
      'ExternalCheckRequested',
      'ExternalCheckCompleted',
      'ExternalCheckRequested',
      'ExternalCheckCompleted',
      'AdjudicationRequested',
    ]);
    const requests = events.filter((e) => e.type === 'ExternalCheckRequested');
    expect(requests.map((e) => e.data.attempt)).to.deep.equal([1, 2, 3]);
    expect(requests.map((e) => e.data.checkId)).to.deep.equal([1, 2, 3].map((n) => `${packet.regId}:SIGA:${n}`));
    expect(events.filter((e) => e.type === 'ExternalCheckCompleted').map((e) => e.data.outcome)).to.deep.equal(['UNAVAILABLE', 'UNAVAILABLE', 'UNAVAILABLE']);
    const adjudication = events.at(-1)!;
    expect(adjudication.data.adjudicationId).to.equal(`adj-${packet.regId}:SIGA:3`);
    expect(adjudication.data.reasons).to.deep.equal(['SIGA unavailable after 3 attempts: check manually']);
    expect(adjudication.data.reasons as string[]).to.satisfy((r: string[]) => r.every((s) => s.includes('unavailable')));
    // It waited before attempts 2 and 3, and asked SIGA exactly three times.
    expect(backoffs).to.deep.equal([2, 3]);
    expect(sigaRequests()).to.deep.equal({ outage: 3 });

    sims.sigaFaults.reset();
    const head = await store.headPosition();
    // A stopped consumer has finished whatever it had in hand: nothing it started can still
    // append or call SIGA after this. Then it runs again over the same log and finds nothing to do.
    await stopConsumer();
    startConsumer();
    await settled();
    expect(await store.headPosition()).to.equal(head);
    expect(types(await stream(enrollmentStreamId(packet.regId)))).to.deep.equal(types(events));
    expect(sigaRequests()).to.deep.equal({ outage: 3 });
    expect(await identitiesCreatedFor(packet.regId)).to.deep.equal([]);
    await expectIntact([packet.regId]);
  });

  it('ABIS down: the consumer tries three times, then an officer checks duplicates by hand; their approval allocates without the ABIS', async () => {
    sims.abisFaults.update({ outageUntil: new Date(Date.now() + 10 * 60_000).toISOString() });
    try {
      const packet = citizenPacket(picker.citizen());
      const events = await processed(packet);
      expect(types(events).slice(-1)).to.deep.equal(['AdjudicationRequested']);
      expect(events.at(-1)!.data).to.deep.include({
        adjudicationId: `adj-${packet.regId}:abis`,
        reasons: ['ABIS unavailable after 3 attempts: check biometric duplicates manually'],
      });
      await handleCommand(store, enrollmentDecider, enrollmentStreamId(packet.regId), {
        type: 'DecideAdjudication',
        regId: packet.regId,
        adjudicationId: `adj-${packet.regId}:abis`,
        decision: 'APPROVE',
        reason: 'no duplicate found by hand',
        adjudicatorId: 'adj-1',
        targetUin: null,
      });
      await settled();
      const after = await stream(enrollmentStreamId(packet.regId));
      expect(after.at(-1)!.type).to.equal('EnrollmentApproved');
      expect(await identitiesCreatedFor(packet.regId)).to.have.length(1);
      await expectIntact([packet.regId]);
    } finally {
      sims.abisFaults.reset();
    }
  });

  it('SIGA failing on the first attempt only: the second attempt matches and the enrollment is approved', async () => {
    sims.sigaFaults.update({ errorRate: 1 });
    // SIGA recovers while the process waits to ask again.
    duringBackoff = () => sims.sigaFaults.reset();
    const packet = citizenPacket(picker.citizen());
    const events = await processed(packet);
    expect(types(events)).to.deep.equal([
      'EnrollmentSubmitted',
      'PacketValidated',
      'ExternalCheckRequested',
      'ExternalCheckCompleted',
      'ExternalCheckRequested',
      'ExternalCheckCompleted',
      'EnrollmentApproved',
    ]);
    expect(events.filter((e) => e.type === 'ExternalCheckRequested').map((e) => [e.data.attempt, e.data.checkId])).to.deep.equal([
      [1, `${packet.regId}:SIGA:1`],
      [2, `${packet.regId}:SIGA:2`],
    ]);
    expect(events.filter((e) => e.type === 'ExternalCheckCompleted').map((e) => e.data.outcome)).to.deep.equal(['UNAVAILABLE', 'MATCH']);
    expect(backoffs).to.deep.equal([2]);
    expect(sigaRequests()).to.deep.equal({ error: 1, ok: 1 });
    const uin = events.at(-1)!.data.uin as string;
    expect(uinViolations(uin)).to.deep.equal([]);
    expect(types(await stream(identityStreamId(uin)))).to.deep.equal(['IdentityCreated']);
    expect(await identitiesCreatedFor(packet.regId)).to.deep.equal([identityStreamId(uin)]);
  });

  it("a biometric impostor (B's demographics, A's fingers and face) is suspected a duplicate of A's identity", async () => {
    const a = picker.citizen();
    const b = picker.citizen();
    const first = citizenPacket(a);
    const uinA = await enrol(first);
    const impostor = citizenPacket(b, { biometricsOf: a.civilRegistryNumber });
    const events = await processed(impostor);
    expect(types(events)).to.deep.equal([
      'EnrollmentSubmitted',
      'PacketValidated',
      'ExternalCheckRequested',
      'ExternalCheckCompleted',
      'DuplicateSuspected',
      'AdjudicationRequested',
    ]);
    // SIGA agrees: the demographics are B's own. Only the biometrics give the impostor away.
    expect(events[3]!.data).to.include({ outcome: 'MATCH' });
    const suspected = events[4]!.data as { candidateUin: string; method: string; score: number };
    expect(suspected).to.include({ regId: impostor.regId, candidateUin: uinA, method: 'BIOMETRIC' });
    expect(suspected.score).to.be.within(0.9, 1);
    expect(events[5]!.data).to.deep.equal({
      regId: impostor.regId,
      adjudicationId: `adj-${impostor.regId}:dup:${uinA}`,
      reasons: [`possible duplicate of ${uinA} (BIOMETRIC, score ${suspected.score})`],
    });
    expect(await identitiesCreatedFor(impostor.regId)).to.deep.equal([]);
    expect(types(await stream(identityStreamId(uinA)))).to.deep.equal(['IdentityCreated']);
  });

  it('the same person twice: a demographic duplicate; treated as an update by an officer, it updates the first identity and is approved with its UIN', async () => {
    const person = picker.citizen();
    const first = citizenPacket(person);
    const uin = await enrol(first);
    const again = citizenPacket(person, { address: { district: 'Lobata', locality: 'Guadalupe', line: 'Rua do Mercado 4' } });
    await submit(again);
    await settled();

    const regId = again.regId;
    let events = await stream(enrollmentStreamId(regId));
    expect(types(events)).to.deep.equal([
      'EnrollmentSubmitted',
      'PacketValidated',
      'ExternalCheckRequested',
      'ExternalCheckCompleted',
      'DuplicateSuspected',
      'AdjudicationRequested',
    ]);
    expect(events[4]!.data).to.deep.equal({ regId, candidateUin: uin, method: 'DEMOGRAPHIC', score: 1 });
    const adjudicationId = `adj-${regId}:dup:${uin}`;
    expect(events[5]!.data).to.deep.equal({ regId, adjudicationId, reasons: [`possible duplicate of ${uin} (DEMOGRAPHIC, score 1)`] });

    await handleCommand(
      store,
      enrollmentDecider,
      enrollmentStreamId(regId),
      { type: 'DecideAdjudication', regId, adjudicationId, decision: 'TREAT_AS_UPDATE', reason: 'same person, moved house', adjudicatorId: 'adjudicator-7', targetUin: uin },
      { metadata: { correlationId: regId, actor: { id: 'adjudicator-7', role: 'adjudicator' } } },
    );
    await settled();

    events = await stream(enrollmentStreamId(regId));
    expect(types(events).slice(6)).to.deep.equal(['AdjudicationDecided', 'EnrollmentApproved']);
    expect(events[7]!.data).to.deep.equal({ regId, uin });
    expect(events[7]!.metadata.causationId).to.equal(events[6]!.eventId);

    const identity = await stream(identityStreamId(uin));
    expect(types(identity)).to.deep.equal(['IdentityCreated', 'IdentityUpdated']);
    const updated = identity[1]!;
    expect(updated.data).to.include({ uin, regId });
    expect(updated.data.changedFields).to.deep.equal(['address']);
    expect(updated.metadata.causationId).to.equal(events[6]!.eventId);
    // Re-sealed under the identity's own subject, with the newer demographics.
    const sealed = updated.data.sealed as SealedData;
    expect(sealed.subjectId).to.equal(subjectIdFor(first.regId));
    expect((await sealer.open<IdentityRecord>(sealed)).demographics).to.deep.equal(again.demographics);
    expect(await identitiesCreatedFor(regId)).to.deep.equal([]);
  });

  it('an UPDATE packet for an existing UIN, from that person, updates that identity; one naming an unknown UIN is rejected UIN_UNKNOWN before anyone is asked', async () => {
    const person = picker.citizen();
    const uin = await enrol(citizenPacket(person));
    const headBefore = await store.headPosition();
    const update = citizenPacket(person, { packetType: 'UPDATE', uin, address: { district: 'Caué', locality: 'São João dos Angolares' } });
    const events = await processed(update);
    expect(types(events)).to.deep.equal(['EnrollmentSubmitted', 'PacketValidated', 'IdentityClaimChecked', 'ExternalCheckRequested', 'ExternalCheckCompleted', 'EnrollmentApproved']);
    expect(events[0]!.data).to.include({ regId: update.regId, packetType: 'UPDATE' });
    expect(events[2]!.data).to.deep.include({ uin, biometric: 'MATCH', anchorKept: true, problems: [] });
    expect(events[5]!.data).to.deep.equal({ regId: update.regId, uin });
    const identity = await stream(identityStreamId(uin));
    expect(types(identity)).to.deep.equal(['IdentityCreated', 'IdentityUpdated']);
    expect(identity[1]!.data).to.include({ uin, regId: update.regId });
    expect(identity[1]!.data.changedFields).to.deep.equal(['address']);
    expect((await sealer.open<IdentityRecord>(identity[1]!.data.sealed as SealedData)).demographics.address).to.deep.equal(update.demographics.address);
    // No new identity anywhere.
    const created = await driver.query(`SELECT 1 FROM registo_events WHERE type = 'IdentityCreated' AND position > $1`, [headBefore]);
    expect(created).to.have.length(0);

    let unknown = generateUin();
    while ((await stream(identityStreamId(unknown))).length > 0) unknown = generateUin();
    const stray = citizenPacket(picker.citizen(), { packetType: 'UPDATE', uin: unknown });
    const rejected = await processed(stray);
    expect(types(rejected)).to.deep.equal(['EnrollmentSubmitted', 'PacketValidated', 'EnrollmentRejected']);
    expect(rejected[2]!.data).to.include({ regId: stray.regId, code: 'UIN_UNKNOWN' });
    expect(await stream(identityStreamId(unknown))).to.deep.equal([]);
    expect(await driver.query(`SELECT 1 FROM registo_events WHERE type IN ('IdentityCreated', 'IdentityUpdated') AND position > $1`, [headBefore])).to.have.length(1);
  });

  it('two process instances allocating for the same enrollment at the same moment create one identity; a crash before approval is recovered with the same UIN', async () => {
    await withConsumerStopped(async () => {
      const packet = citizenPacket(picker.citizen());
      await submit(packet);
      const id = enrollmentStreamId(packet.regId);
      // Drive the process by hand up to the completed check.
      await handler.handle((await stream(id))[1]!, 1);
      await handler.handle((await stream(id))[2]!, 1);
      const events = await stream(id);
      expect(types(events)).to.deep.equal(['EnrollmentSubmitted', 'PacketValidated', 'ExternalCheckRequested', 'ExternalCheckCompleted']);
      const completed = events[3]!;
      expect(completed.data.outcome).to.equal('MATCH');

      // The same event delivered to two instances at once; both reach the identity append together.
      const racing = racingStore(store, 2);
      const one = createEnrollmentProcess({ ...deps, store: racing });
      const two = createEnrollmentProcess({ ...deps, store: racing });
      await Promise.all([one.handle(completed, 1), two.handle(completed, 1)]);
      const created = await identitiesCreatedFor(packet.regId);
      expect(created).to.have.length(1);
      // Both tried the same first number of the enrollment's sequence; the loser did not draw another.
      expect(racing.arrivals).to.deep.equal([created[0], created[0]]);
      const after = await stream(id);
      expect(types(after)).to.deep.equal(['EnrollmentSubmitted', 'PacketValidated', 'ExternalCheckRequested', 'ExternalCheckCompleted', 'EnrollmentApproved']);
      expect(identityStreamId(after[4]!.data.uin as string)).to.equal(created[0]);
      expect(types(await stream(created[0]!))).to.deep.equal(['IdentityCreated']);

      // A crash after the identity is created but before the approval: the redelivery finds the same UIN.
      const other = citizenPacket(picker.citizen());
      await submit(other);
      const otherId = enrollmentStreamId(other.regId);
      await handler.handle((await stream(otherId))[1]!, 1);
      await handler.handle((await stream(otherId))[2]!, 1);
      const otherCompleted = (await stream(otherId))[3]!;
      const crashing = createEnrollmentProcess({ ...deps, store: crashingBeforeApproval(store) });
      let crash: unknown;
      await crashing.handle(otherCompleted, 1).catch((e: unknown) => (crash = e));
      expect((crash as Error)?.message).to.equal('process killed between IdentityCreated and EnrollmentApproved');
      const orphan = await identitiesCreatedFor(other.regId);
      expect(orphan).to.have.length(1);
      expect(types(await stream(otherId)).at(-1)).to.equal('ExternalCheckCompleted');
      await handler.handle(otherCompleted, 1);
      const recovered = await stream(otherId);
      expect(types(recovered).at(-1)).to.equal('EnrollmentApproved');
      expect(identityStreamId(recovered.at(-1)!.data.uin as string)).to.equal(orphan[0]);
      expect(await identitiesCreatedFor(other.regId)).to.deep.equal(orphan);
      await expectIntact([packet.regId, other.regId]);
    });
  });

  it('the same person twice while the first is still being allocated: the duplicate names the pending enrollment, and a redelivery does not name it again', async () => {
    await withConsumerStopped(async () => {
      const person = picker.citizen();
      const first = citizenPacket(person);
      const second = citizenPacket(person);
      await submit(first);
      await submit(second);
      for (const p of [first, second]) {
        await handler.handle((await stream(enrollmentStreamId(p.regId)))[1]!, 1);
        await handler.handle((await stream(enrollmentStreamId(p.regId)))[2]!, 1);
      }
      const firstCompleted = (await stream(enrollmentStreamId(first.regId)))[3]!;
      const secondCompleted = (await stream(enrollmentStreamId(second.regId)))[3]!;

      // The first has claimed the person and is about to create the identity when the second is checked.
      const gate = gatedStore(store);
      const allocating = createEnrollmentProcess({ ...deps, store: gate }).handle(firstCompleted, 1);
      await gate.reached;
      await handler.handle(secondCompleted, 1);
      const suspected = (await stream(enrollmentStreamId(second.regId)))[4]!;
      expect(suspected.type).to.equal('DuplicateSuspected');
      expect(suspected.data).to.deep.equal({ regId: second.regId, candidateUin: `enrollment:${first.regId}`, method: 'DEMOGRAPHIC', score: 1 });
      await handler.handle(suspected, 1);
      gate.release();
      await allocating;
      const uin = (await stream(enrollmentStreamId(first.regId))).at(-1)!.data.uin as string;
      expect(uinViolations(uin)).to.deep.equal([]);

      const before = await stream(enrollmentStreamId(second.regId));
      expect(types(before)).to.deep.equal(['EnrollmentSubmitted', 'PacketValidated', 'ExternalCheckRequested', 'ExternalCheckCompleted', 'DuplicateSuspected', 'AdjudicationRequested']);
      expect(before[5]!.data.adjudicationId).to.equal(`adj-${second.regId}:dup:enrollment:${first.regId}`);
      // Redelivered now that the first has its UIN: the officer already has the case; nothing more is said.
      await handler.handle(secondCompleted, 1);
      expect((await stream(enrollmentStreamId(second.regId))).map((e) => e.eventId)).to.deep.equal(before.map((e) => e.eventId));
    });
  });

  it('at least once: every enrollment event handled again (in order, then all streams at once) changes nothing', async () => {
    await settled();
    const before = await store.readAll();
    const enrollmentEvents = before.filter((e) => e.streamId.startsWith('enrollment-'));
    const identities = before.filter((e) => e.type === 'IdentityCreated').length;
    expect(enrollmentEvents.length).to.be.greaterThan(40);
    // One identity per UIN any enrollment was approved with (updates approve with an existing one).
    const approvedUins = new Set(before.filter((e) => e.type === 'EnrollmentApproved').map((e) => e.data.uin));
    expect(identities).to.equal(approvedUins.size).and.to.be.greaterThan(5);
    const sigaBefore = sigaRequests();

    for (const e of enrollmentEvents) await handler.handle(e, 1);
    expect(await store.headPosition()).to.equal(before.at(-1)!.position);

    const byStream = new Map<string, EventEnvelope[]>();
    for (const e of enrollmentEvents) byStream.set(e.streamId, [...(byStream.get(e.streamId) ?? []), e]);
    await Promise.all([...byStream.values()].map(async (events) => {
      for (const e of events) await handler.handle(e, 1);
    }));

    const after = await store.readAll();
    expect(after.map((e) => e.eventId)).to.deep.equal(before.map((e) => e.eventId));
    expect(after.filter((e) => e.type === 'IdentityCreated').length).to.equal(identities);
    // Checks already answered are not asked again.
    expect(sigaRequests()).to.deep.equal(sigaBefore);
  });
});
