import { expect } from 'chai';
import { blindIndex } from '@registo/crypto';
import type { EnrollmentPacket } from '@registo/packets';
import { SyncHttpConnector } from '@registo/external';
import { createOutboundSync } from '@registo/consumers';
import { type IdentityRecord, enrollmentDecider, enrollmentStreamId, handleCommand, identityClaimAdjudicationId, identityStreamId } from '@registo/producers';
import { adjudicationQueueProjection, findAdjudication, findIdentitiesByCivilRegistryIndex, identityRegistryProjection } from '@registo/projections';
import { type Citizen, createPopulation } from '@registo/simulators';
import type { EventEnvelope, SealedData } from '@registo/schemas';
import { ADJUDICATOR_TOKEN, type EnrollmentWorld, PopulationPicker, citizenPacket, expectLogIntact, foreignerPacket, openEnrollmentWorld } from '../src/index.js';

/**
 * A packet that names a UIN must be about that person: a trusted device sending an UPDATE for
 * person A's UIN with person B's demographics and templates changes nothing, and an officer
 * gets the case; a genuine update or an approved correction applies, and every read model
 * follows it (the blind index included).
 */
describe('identity claims on PostgreSQL with the ABIS simulator: an update must be about the same person', function () {
  this.timeout(120_000);
  const picker = new PopulationPicker(createPopulation(), 300);
  let world: EnrollmentWorld;

  const stream = (id: string): Promise<EventEnvelope[]> => world.store.readStream(id);
  const types = (events: EventEnvelope[]): string[] => events.map((e) => e.type);
  const sigaRequests = (): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const byOutcome of Object.values(world.sims.sigaFaults.stats.byRoute)) for (const [k, n] of Object.entries(byOutcome)) out[k] = (out[k] ?? 0) + n;
    return out;
  };
  const searchByNumber = async (civilRegistryNumber: string): Promise<string[]> => {
    await world.project(identityRegistryProjection);
    return world.driver.transaction(async (tx) => (await findIdentitiesByCivilRegistryIndex(tx, blindIndex(civilRegistryNumber, world.indexKey))).map((r) => r.uin));
  };
  /** What the outbound SIGA sync would tell SIGA for every identity event in the log, and what SIGA then holds. */
  const tellSiga = async (): Promise<void> => {
    const siga = createOutboundSync('SIGA', { store: world.store, sealer: world.sealer, port: new SyncHttpConnector('SIGA', { baseUrl: world.sims.sigaUrl, token: world.sims.token }), maxAttempts: 1 });
    for (const e of await world.store.readAll()) if (e.streamId.startsWith('identity-')) await siga.handle(e, 1);
  };
  const sigaHeard = (uin: string): Array<Record<string, unknown>> => world.sims.sigaLedger.received.map((r) => r.body).filter((b) => b.uin === uin);
  const decide = (regId: string, adjudicationId: string, decision: 'APPROVE' | 'REJECT', reason: string) =>
    handleCommand(world.store, enrollmentDecider, enrollmentStreamId(regId), { type: 'DecideAdjudication', regId, adjudicationId, decision, reason, adjudicatorId: 'adjudicator-4', targetUin: null });

  /** Enrols a packet to approval; returns the UIN. */
  const enrol = async (packet: EnrollmentPacket): Promise<string> => {
    await world.submit(packet);
    await world.settled();
    const events = await stream(enrollmentStreamId(packet.regId));
    expect(events.at(-1)?.type, types(events).join(', ')).to.equal('EnrollmentApproved');
    return events.at(-1)!.data.uin as string;
  };

  before(async () => {
    world = await openEnrollmentWorld();
  });
  beforeEach(() => world.sims.sigaFaults.clearStats());
  afterEach(async () => {
    expect(await world.driver.query('SELECT type, reason FROM registo_dead_letters').catch(() => [])).to.deep.equal([]);
  });
  after(async () => {
    await world?.close();
  });

  it("an UPDATE naming A's UIN with B's demographics and templates changes nothing, reaches an adjudicator with BIOMETRIC_MISMATCH, and SIGA is told nothing", async () => {
    const a = picker.citizen();
    const b = picker.citizen();
    const uinA = await enrol(citizenPacket(a));
    await tellSiga();
    const heardBefore = sigaHeard(uinA);
    expect(heardBefore.map((body) => [body.status, body.civilRegistryNumber])).to.deep.equal([['ENROLLED', a.civilRegistryNumber]]);
    const identityBefore = await stream(identityStreamId(uinA));
    world.sims.sigaFaults.clearStats();

    const hijack = citizenPacket(b, { packetType: 'UPDATE', uin: uinA });
    await world.submit(hijack);
    await world.settled();

    const events = await stream(enrollmentStreamId(hijack.regId));
    expect(types(events)).to.deep.equal(['EnrollmentSubmitted', 'PacketValidated', 'IdentityClaimChecked', 'AdjudicationRequested']);
    const claim = events[2]!.data as { biometric: string; score: number; anchorKept: boolean; problems: string[] };
    expect(claim).to.deep.include({ regId: hijack.regId, uin: uinA, biometric: 'NO_MATCH', anchorKept: false, problems: ['BIOMETRIC_MISMATCH', 'ANCHOR_MISMATCH'] });
    expect(claim.score).to.be.below(0.5);
    const adjudicationId = identityClaimAdjudicationId(hijack.regId);
    expect(events[3]!.data).to.deep.equal({ regId: hijack.regId, adjudicationId, reasons: ['BIOMETRIC_MISMATCH', 'ANCHOR_MISMATCH'] });
    // Nothing personal in clear: the claim's events hold verdicts, not B's name or number.
    const text = JSON.stringify(events.slice(2).map((e) => e.data));
    for (const value of [b.civilRegistryNumber, b.surname, b.givenNames, b.dateOfBirth]) expect(text).not.to.include(value);

    // The officer's queue has the case, with A's identity as the candidate to compare against.
    await world.project(adjudicationQueueProjection);
    const row = await world.driver.transaction((tx) => findAdjudication(tx, adjudicationId));
    expect(row).to.deep.include({ regId: hijack.regId, status: 'OPEN', reasons: ['BIOMETRIC_MISMATCH', 'ANCHOR_MISMATCH'], candidates: [uinA] });

    // A's identity is untouched; SIGA was not even asked to verify B, and hears nothing new.
    expect((await stream(identityStreamId(uinA))).map((e) => e.eventId)).to.deep.equal(identityBefore.map((e) => e.eventId));
    expect(sigaRequests()).to.deep.equal({});
    await tellSiga();
    expect(sigaHeard(uinA)).to.deep.equal(heardBefore);
    expect(world.sims.sigaLedger.received.map((r) => r.body.civilRegistryNumber)).not.to.include(b.civilRegistryNumber);
    expect(await searchByNumber(a.civilRegistryNumber)).to.deep.equal([uinA]);
    expect(await searchByNumber(b.civilRegistryNumber)).to.deep.equal([]);

    // The officer cannot fold it into some identity (the packet names one already), and refuses it:
    // the enrollment is closed, still nothing changed.
    const decideOverApi = (body: Record<string, unknown>) =>
      fetch(`${world.apiUrl}/v1/adjudications/${adjudicationId}/decision`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADJUDICATOR_TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const merge = await decideOverApi({ decision: 'TREAT_AS_UPDATE', reason: 'same person', targetUin: uinA });
    expect(merge.status).to.equal(422);
    expect(await merge.json()).to.include({ code: 'COMMAND_REJECTED', reason: 'DECISION_NOT_APPLICABLE' });
    expect((await decideOverApi({ decision: 'REJECT', reason: 'the biometrics are not those of the identity named' })).status).to.be.within(200, 299);
    await world.settled();
    expect(types(await stream(enrollmentStreamId(hijack.regId))).slice(-2)).to.deep.equal(['AdjudicationDecided', 'EnrollmentRejected']);
    expect((await stream(identityStreamId(uinA))).map((e) => e.eventId)).to.deep.equal(identityBefore.map((e) => e.eventId));
  });

  it("A's own fingers with B's registry number and demographics: ANCHOR_MISMATCH, nothing changes", async () => {
    const a = picker.citizen();
    const b = picker.citizen();
    const uinA = await enrol(citizenPacket(a));
    const identityBefore = await stream(identityStreamId(uinA));
    world.sims.sigaFaults.clearStats();
    const swap = citizenPacket(b, { packetType: 'UPDATE', uin: uinA, biometricsOf: a.civilRegistryNumber });
    await world.submit(swap);
    await world.settled();
    const events = await stream(enrollmentStreamId(swap.regId));
    expect(types(events)).to.deep.equal(['EnrollmentSubmitted', 'PacketValidated', 'IdentityClaimChecked', 'AdjudicationRequested']);
    expect(events[2]!.data).to.deep.include({ biometric: 'MATCH', anchorKept: false, problems: ['ANCHOR_MISMATCH'] });
    expect(events[3]!.data).to.deep.include({ reasons: ['ANCHOR_MISMATCH'] });
    expect((await stream(identityStreamId(uinA))).map((e) => e.eventId)).to.deep.equal(identityBefore.map((e) => e.eventId));
    expect(sigaRequests()).to.deep.equal({});
  });

  it('a genuine UPDATE from the person still applies: SIGA checks it, the identity is updated, SIGA is told, the index stays with the number', async () => {
    const a = picker.citizen();
    const uinA = await enrol(citizenPacket(a));
    const moved = citizenPacket(a, { packetType: 'UPDATE', uin: uinA, address: { district: 'Lembá', locality: 'Neves', line: 'Rua da Praia 2' } });
    await world.submit(moved);
    await world.settled();
    const events = await stream(enrollmentStreamId(moved.regId));
    expect(types(events)).to.deep.equal(['EnrollmentSubmitted', 'PacketValidated', 'IdentityClaimChecked', 'ExternalCheckRequested', 'ExternalCheckCompleted', 'EnrollmentApproved']);
    expect(events[2]!.data).to.deep.include({ biometric: 'MATCH', anchorKept: true, problems: [] });
    expect((events[2]!.data as { score: number }).score).to.be.at.least(0.9);
    const identity = await stream(identityStreamId(uinA));
    expect(types(identity)).to.deep.equal(['IdentityCreated', 'IdentityUpdated']);
    expect(identity[1]!.data).to.deep.include({ regId: moved.regId, changedFields: ['address'], civilRegistryIndex: blindIndex(a.civilRegistryNumber, world.indexKey) });
    await tellSiga();
    expect(sigaHeard(uinA).map((body) => body.status)).to.deep.equal(['ENROLLED', 'UPDATED']);
    expect(await searchByNumber(a.civilRegistryNumber)).to.deep.equal([uinA]);
  });

  it("a foreigner's UPDATE is checked against the permit number: their own applies, another permit holder's goes to an officer", async () => {
    const f = picker.foreigner('VALID');
    const g = picker.foreigner('VALID');
    const uin = await enrol(foreignerPacket(f));
    const own = foreignerPacket(f, { packetType: 'UPDATE', uin, address: { district: 'Água Grande', locality: 'São Tomé', line: 'Avenida Marginal 12 de Julho' } });
    await world.submit(own);
    await world.settled();
    expect(types(await stream(enrollmentStreamId(own.regId))).slice(2)).to.deep.equal(['IdentityClaimChecked', 'ExternalCheckRequested', 'ExternalCheckCompleted', 'EnrollmentApproved']);
    const other = foreignerPacket(g, { packetType: 'UPDATE', uin, biometricsOf: f.permitNumber });
    await world.submit(other);
    await world.settled();
    const events = await stream(enrollmentStreamId(other.regId));
    expect(types(events).slice(2)).to.deep.equal(['IdentityClaimChecked', 'AdjudicationRequested']);
    expect(events[2]!.data).to.deep.include({ biometric: 'MATCH', anchorKept: false, problems: ['ANCHOR_MISMATCH'] });
    const identity = await stream(identityStreamId(uin));
    expect(types(identity)).to.deep.equal(['IdentityCreated', 'IdentityUpdated']);
    const permitIndex = blindIndex(`permit:${f.permitNumber}`, world.indexKey);
    expect(identity[0]!.data).to.include({ civilRegistryIndex: null, permitIndex });
    expect(identity[1]!.data).to.include({ regId: own.regId, civilRegistryIndex: null, permitIndex });
  });

  it('ABIS down for a 1:1 verification: after the consumer\'s deliveries an officer compares by hand (BIOMETRIC_UNAVAILABLE); their approval lets the update apply', async () => {
    const a = picker.citizen();
    const uinA = await enrol(citizenPacket(a));
    world.sims.abisFaults.update({ outageUntil: new Date(Date.now() + 10 * 60_000).toISOString() });
    const update = citizenPacket(a, { packetType: 'UPDATE', uin: uinA, address: { district: 'Cantagalo', locality: 'Santana' } });
    try {
      await world.submit(update);
      await world.settled();
    } finally {
      world.sims.abisFaults.reset();
    }
    const events = await stream(enrollmentStreamId(update.regId));
    expect(types(events).slice(2)).to.deep.equal(['IdentityClaimChecked', 'AdjudicationRequested']);
    expect(events[2]!.data).to.deep.include({ biometric: 'UNAVAILABLE', score: null, anchorKept: true, problems: ['BIOMETRIC_UNAVAILABLE'] });
    expect(types(await stream(identityStreamId(uinA)))).to.deep.equal(['IdentityCreated']);
    await decide(update.regId, identityClaimAdjudicationId(update.regId), 'APPROVE', 'fingerprints compared by hand');
    await world.settled();
    expect(types(await stream(enrollmentStreamId(update.regId))).at(-1)).to.equal('EnrollmentApproved');
    expect(types(await stream(identityStreamId(uinA)))).to.deep.equal(['IdentityCreated', 'IdentityUpdated']);
    await expectLogIntact({ db: world.driver, store: world.store, acceptedRegIds: [update.regId], readModels: false, ledgers: { SIGA: world.sims.sigaLedger.stats, IMMIGRATION: world.sims.immigrationLedger.stats } });
  });

  it('a CORRECTION of a mistyped registry number goes to an officer with both versions; approved, it applies and the blind index follows: the new number finds the identity, the old one does not', async () => {
    const a = picker.citizen();
    // Enrolled under a mistyped number: SIGA does not know it, an officer approved it anyway.
    // (RC-0000301-4 → RC-9000301-4: beyond the population, so nobody's number.)
    const mistyped: Citizen = { ...a, civilRegistryNumber: `RC-9${a.civilRegistryNumber.slice(4)}` };
    const first = citizenPacket(mistyped, { biometricsOf: a.civilRegistryNumber });
    await world.submit(first);
    await world.settled();
    const queued = (await stream(enrollmentStreamId(first.regId))).at(-1)!;
    expect(queued.type).to.equal('AdjudicationRequested');
    await decide(first.regId, queued.data.adjudicationId as string, 'APPROVE', 'birth certificate seen');
    await world.settled();
    const uinA = (await stream(enrollmentStreamId(first.regId))).at(-1)!.data.uin as string;
    expect(await searchByNumber(mistyped.civilRegistryNumber)).to.deep.equal([uinA]);

    const correction = citizenPacket(a, { packetType: 'CORRECTION', uin: uinA });
    await world.submit(correction);
    await world.settled();
    let events = await stream(enrollmentStreamId(correction.regId));
    expect(types(events)).to.deep.equal(['EnrollmentSubmitted', 'PacketValidated', 'IdentityClaimChecked', 'AdjudicationRequested']);
    expect(events[2]!.data).to.deep.include({ biometric: 'MATCH', anchorKept: false, problems: ['ANCHOR_CORRECTION'] });
    const adjudicationId = identityClaimAdjudicationId(correction.regId);
    // Both versions reach the officer sealed: the packet's in its submission, the identity's in its record.
    await world.project(adjudicationQueueProjection);
    expect(await world.driver.transaction((tx) => findAdjudication(tx, adjudicationId))).to.deep.include({ reasons: ['ANCHOR_CORRECTION'], candidates: [uinA] });
    const text = JSON.stringify((await world.store.readAll()).map((e) => e.data));
    expect(text).not.to.include(a.civilRegistryNumber);
    expect(text).not.to.include(mistyped.civilRegistryNumber);
    const res = await fetch(`${world.apiUrl}/v1/adjudications/${adjudicationId}`, { headers: { authorization: `Bearer ${ADJUDICATOR_TOKEN}` } });
    expect(res.status).to.equal(200);
    const shown = (await res.json()) as { applicant: IdentityRecord; candidates: Array<{ candidate: string; identity: IdentityRecord }> };
    expect(shown.applicant.demographics.civilRegistryNumber).to.equal(a.civilRegistryNumber);
    expect(shown.candidates.map((c) => [c.candidate, c.identity.demographics.civilRegistryNumber])).to.deep.equal([[uinA, mistyped.civilRegistryNumber]]);
    expect(types(await stream(identityStreamId(uinA)))).to.deep.equal(['IdentityCreated']);

    await decide(correction.regId, adjudicationId, 'APPROVE', 'birth certificate shows the right number');
    await world.settled();
    events = await stream(enrollmentStreamId(correction.regId));
    expect(types(events).slice(4)).to.deep.equal(['AdjudicationDecided', 'ExternalCheckRequested', 'ExternalCheckCompleted', 'EnrollmentApproved']);
    expect(events[6]!.data).to.include({ outcome: 'MATCH' });
    const identity = await stream(identityStreamId(uinA));
    expect(types(identity)).to.deep.equal(['IdentityCreated', 'IdentityUpdated']);
    expect(identity[1]!.data).to.deep.include({ changedFields: ['civilRegistryNumber'], civilRegistryIndex: blindIndex(a.civilRegistryNumber, world.indexKey) });
    expect((await world.sealer.open<IdentityRecord>(identity[1]!.data.sealed as SealedData)).demographics.civilRegistryNumber).to.equal(a.civilRegistryNumber);

    expect(await searchByNumber(a.civilRegistryNumber)).to.deep.equal([uinA]);
    expect(await searchByNumber(mistyped.civilRegistryNumber)).to.deep.equal([]);
    // A newcomer with the corrected number is now a duplicate of this identity.
    const again = citizenPacket(a);
    await world.submit(again);
    await world.settled();
    expect((await stream(enrollmentStreamId(again.regId))).find((e) => e.type === 'DuplicateSuspected')?.data).to.deep.include({ candidateUin: uinA });
  });

  it('at least once: every enrollment event handled again changes nothing and asks the ABIS for no new verification', async () => {
    await world.settled();
    const before = await world.store.readAll();
    // Requests the ABIS received on its verification route, counted in process (no admin call needed).
    const verifications = (): number =>
      Object.entries(world.sims.abisFaults.stats.byRoute)
        .filter(([route]) => route.includes('/v1/verifications'))
        .reduce((sum, [, outcomes]) => sum + Object.values(outcomes).reduce((a, b) => a + b, 0), 0);
    const asked = verifications();
    expect(asked).to.be.greaterThan(5);
    for (const e of before.filter((x) => x.streamId.startsWith('enrollment-'))) await world.process.handle(e, 1);
    const after = await world.store.readAll();
    expect(after.map((e) => e.eventId)).to.deep.equal(before.map((e) => e.eventId));
    expect(verifications()).to.equal(asked);
  });
});
