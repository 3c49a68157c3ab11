import { expect } from 'chai';
import type { FastifyInstance } from 'fastify';
import { createLogger } from '@registo/base';
import { ResilientSyncPort, SyncHttpConnector, type ExternalSyncPort, type SyncSystem } from '@registo/external';
import { SyncService, createOutboundSync, runReconciliation, type Difference } from '@registo/consumers';
import { ApiTokens, createHttpApp, registerSyncRoutes } from '@registo/gateways';
import { type IdentityRecord, identityStreamId, subjectIdFor } from '@registo/producers';
import { identityRegistryProjection, replayProjection, syncStatusProjection } from '@registo/projections';
import { type RunningSimulators, startSimulators, webhookSignature } from '@registo/simulators';
import type { EventEnvelope } from '@registo/schemas';
import { type SeededIdentity, type SyncWorld, changeStatus, expectedSyncId, openSyncWorld, pickPeople, seedIdentities, settledCount, syncState } from '../../src/index.js';
import { waitFor } from '../kafka/processes.js';

const TOKENS = 'op-token:operator-1:operator';

function ports(sims: RunningSimulators): Record<SyncSystem, ExternalSyncPort> {
  const p = (system: SyncSystem, baseUrl: string) => new ResilientSyncPort(new SyncHttpConnector(system, { baseUrl, token: sims.token, timeoutMs: 2_000 }), { ratePerSecond: 500, breakerThreshold: 50, halfOpenAfterMs: 500 });
  return { SIGA: p('SIGA', sims.sigaUrl), IMMIGRATION: p('IMMIGRATION', sims.immigrationUrl) };
}

/** Values of a person that no agreement lets out. */
function forbiddenValues(d: SeededIdentity['demographics']): string[] {
  return [d.address.line, d.motherName, d.fatherName].filter((v): v is string => typeof v === 'string' && v.length > 3);
}

describe('external sync on the store subscription (embedded): data minimisation, erasure, inbound changes, report, reconciliation', function () {
  this.timeout(120_000);
  let world: SyncWorld;
  let sims: RunningSimulators;
  let tokens: ApiTokens;
  let service: SyncService;
  let running: Promise<void>;
  let app: FastifyInstance;
  let apiUrl: string;
  let citizens: SeededIdentity[];
  let foreigners: SeededIdentity[];
  const sources: Array<{ system: SyncSystem; event: EventEnvelope }> = [];

  before(async () => {
    world = await openSyncWorld();
    sims = await startSimulators({ sigaPort: 0, immigrationPort: 0 });
    citizens = await seedIdentities(world, pickPeople(world.population, 'CITIZEN', 70).map((demographics) => ({ residency: 'CITIZEN' as const, demographics })));
    foreigners = await seedIdentities(world, pickPeople(world.population, 'FOREIGNER', 24).map((demographics) => ({ residency: 'FOREIGNER' as const, demographics })));
    for (const c of citizens) sources.push({ system: 'SIGA', event: c.created });
    for (const f of foreigners) sources.push({ system: 'IMMIGRATION', event: f.created });
    sources.push({ system: 'SIGA', event: await changeStatus(world, citizens[0]!.uin, 'DEACTIVATED') });
    sources.push({ system: 'SIGA', event: await changeStatus(world, citizens[1]!.uin, 'BLOCKED') });
    service = new SyncService({ store: world.store, db: world.driver, sealer: world.sealer, ports: ports(sims), kafka: null, retryDelaysMs: [100, 200], pollMs: 300, reconcileIntervalMs: 0, logger: createLogger('silent') });
    running = service.run();
    app = createHttpApp(createLogger('silent'));
    tokens = ApiTokens.parse(TOKENS);
    registerSyncRoutes(app, {
      store: world.store,
      db: world.driver,
      sealer: world.sealer,
      tokens,
      webhookSecrets: { SIGA: 'siga-secret', IMMIGRATION: 'immigration-secret' },
      applyChange: (system, change, via) => service.inbound.apply(system, change, via),
    });
    apiUrl = await app.listen({ port: 0, host: '127.0.0.1' });
    await waitFor('every outbound sync settled', async () => (await settledCount(world.store, sources.map((s) => expectedSyncId(s.system, s.event)))) === sources.length, 60_000);
  });

  after(async () => {
    await app?.close();
    await service?.stop();
    await running;
    await sims?.close();
    await world?.close();
  });

  it('sends each system exactly the attributes its agreement lists for the operation, and nothing else', async () => {
    for (const s of sources) expect((await syncState(world.store, expectedSyncId(s.system, s.event))).state.status, s.event.type).to.equal('SUCCEEDED');
    const received = { SIGA: sims.sigaLedger.received, IMMIGRATION: sims.immigrationLedger.received };
    expect(received.SIGA.length).to.be.at.least(citizens.length + 2);
    expect(received.IMMIGRATION.length).to.be.at.least(foreigners.length);
    const people = [...citizens, ...foreigners];
    // The agreement as docs/sync.md states it, written out here rather than read from the table under test.
    const sigaKey = ['uin', 'civilRegistryNumber', 'status'];
    const sigaPerson = [...sigaKey, 'givenNames', 'surname', 'dateOfBirth', 'sex'];
    const agreed: Record<'SIGA' | 'IMMIGRATION', Record<string, string[]>> = {
      SIGA: { ENROLLED: sigaPerson, UPDATED: sigaPerson, ISSUED: [...sigaKey, 'credentialId'], DEACTIVATED: sigaKey, DECEASED: sigaKey },
      IMMIGRATION: { IDENTITY_LINKED: ['uin', 'permitNumber', 'operation'], CREDENTIAL_STATUS: ['uin', 'permitNumber', 'operation', 'credentialId', 'credentialStatus'] },
    };
    for (const system of ['SIGA', 'IMMIGRATION'] as const) {
      for (const { body } of received[system]) {
        const operation = String(system === 'SIGA' ? body.status : body.operation);
        expect(agreed[system], `${system} was sent an operation outside its agreement`).to.have.property(operation);
        expect(Object.keys(body).sort(), `${system} ${operation}`).to.deep.equal([...agreed[system][operation]!].sort());
        const person = people.find((p) => p.uin === body.uin)!;
        const text = JSON.stringify(body);
        for (const value of forbiddenValues(person.demographics)) expect(text, `${system} got a value outside the agreement`).not.to.include(value);
        if (system === 'IMMIGRATION') for (const v of [person.demographics.givenNames, person.demographics.surname, person.demographics.dateOfBirth]) expect(text).not.to.include(v);
      }
    }
    // The deactivated and the blocked citizen: only key fields, no demographics.
    const statusBodies = received.SIGA.filter((r) => r.body.status === 'DEACTIVATED');
    expect(statusBodies.map((r) => r.body.uin).sort()).to.deep.equal([citizens[0]!.uin, citizens[1]!.uin].sort());
    for (const r of statusBodies) expect(Object.keys(r.body).sort()).to.deep.equal(['civilRegistryNumber', 'status', 'uin']);
  });

  it('keeps personal data out of every sync event', async () => {
    const syncEvents = (await world.store.readAll()).filter((e) => e.streamId.startsWith('sync-'));
    expect(syncEvents.length).to.be.greaterThan(sources.length);
    const text = JSON.stringify(syncEvents.map((e) => e.data));
    for (const p of [...citizens, ...foreigners]) {
      for (const v of [p.demographics.surname, p.demographics.civilRegistryNumber, p.demographics.residencePermitNumber, p.demographics.dateOfBirth]) {
        if (v) expect(text).not.to.include(v);
      }
    }
  });

  it('plugs credential events in by type: SIGA hears of an issued credential, Immigration of a foreigner credential status', async () => {
    // Credential events are handed to the consumers directly (no issuance role runs in this world).
    const envelope = (type: string, uin: string, n: number): EventEnvelope => ({
      ...citizens[5]!.created,
      eventId: `0193a0b0-0000-7000-8000-${String(900000000000 + n)}`,
      streamId: `credential-CRED-${n}`,
      revision: 0,
      type,
      data: { uin, credentialId: `CRED-${n}` },
    });
    const siga = createOutboundSync('SIGA', { store: world.store, sealer: world.sealer, port: ports(sims).SIGA, maxAttempts: 1 });
    const immigration = createOutboundSync('IMMIGRATION', { store: world.store, sealer: world.sealer, port: ports(sims).IMMIGRATION, maxAttempts: 1 });
    const issued = envelope('CredentialIssued', citizens[5]!.uin, 1);
    const suspended = envelope('CredentialSuspended', foreigners[3]!.uin, 2);
    for (const h of [siga, immigration]) for (const e of [issued, suspended]) await h.handle(e, 1);
    expect((await syncState(world.store, expectedSyncId('SIGA', issued))).state.status).to.equal('SUCCEEDED');
    expect((await syncState(world.store, expectedSyncId('IMMIGRATION', suspended))).state.status).to.equal('SUCCEEDED');
    // Citizens' suspensions are not in SIGA's agreement; foreigners are not SIGA's.
    expect((await syncState(world.store, expectedSyncId('SIGA', suspended))).state.exists).to.equal(false);
    expect((await syncState(world.store, expectedSyncId('IMMIGRATION', issued))).state.exists).to.equal(false);
    expect(sims.sigaLedger.records.get(citizens[5]!.uin)).to.include({ credentialId: 'CRED-1' });
    expect(sims.immigrationLedger.records.get(foreigners[3]!.uin)).to.include({ credentialId: 'CRED-2', credentialStatus: 'SUSPENDED' });
  });

  it('an erased subject is a dead letter with its reason, not a crash', async () => {
    const [erased] = await seedIdentities(world, pickPeople(world.population, 'CITIZEN', 1, 500).map((demographics) => ({ residency: 'CITIZEN' as const, demographics })));
    await world.sealer.destroy(subjectIdFor(`R-${erased!.uin}`));
    const syncId = expectedSyncId('SIGA', erased!.created);
    await waitFor('the erased sync settles', async () => (await settledCount(world.store, [syncId])) === 1, 20_000);
    const { state, events } = await syncState(world.store, syncId);
    expect(state.status).to.equal('DEAD_LETTERED');
    expect(events.at(-1)!.data).to.include({ code: 'SYNC_SUBJECT_ERASED' });
    expect(sims.sigaLedger.records.has(erased!.uin)).to.equal(false);
    // Redrive over the API is a command, so an event; the sync fails the same way again, with its reason.
    expect((await fetch(`${apiUrl}/v1/sync/redrive`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ syncId }) })).status).to.equal(401);
    const r = await fetch(`${apiUrl}/v1/sync/redrive`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer op-token' }, body: JSON.stringify({ syncId }) });
    expect(r.status).to.equal(200);
    expect((await r.json()) as { redriven: string[] }).to.deep.include({ redriven: [syncId] });
    await waitFor('the redriven sync settles again', async () => (await syncState(world.store, syncId)).events.filter((e) => e.type === 'SyncDeadLettered').length === 2, 20_000);
    const again = await syncState(world.store, syncId);
    expect(again.events.map((e) => e.type)).to.deep.equal(['SyncRequested', 'SyncFailed', 'SyncDeadLettered', 'SyncRedriven', 'SyncFailed', 'SyncDeadLettered']);
    const notDead = await fetch(`${apiUrl}/v1/sync/redrive`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer op-token' }, body: JSON.stringify({ syncId: expectedSyncId('SIGA', citizens[3]!.created) }) });
    expect(notDead.status).to.equal(422);
    expect(await notDead.json()).to.include({ code: 'COMMAND_REJECTED', reason: 'SYNC_NOT_DEAD_LETTERED' });
  });

  it('applies SIGA and Immigration changes from the webhook and the change feed once each, with the source recorded', async () => {
    for (const [system, ledger] of [['siga', sims.sigaLedger], ['immigration', sims.immigrationLedger]] as const) {
      // A sender that repeats itself: every change arrives twice by webhook, and again by polling.
      ledger.webhook = { url: `${apiUrl}/v1/sync/webhooks/${system}`, secret: `${system}-secret`, copies: 2, delayMs: 0 };
    }
    const dead = citizens[10]!;
    const renamed = citizens[11]!;
    const expired = foreigners[5]!;
    const revoked = foreigners[6]!;
    const changes = [
      sims.sigaLedger.announce('DECEASED', dead.uin, { dateOfDeath: '2026-11-30' }),
      sims.sigaLedger.announce('NAME_CORRECTED', renamed.uin, { surname: 'Lima Corrigido' }),
      sims.immigrationLedger.announce('PERMIT_EXPIRED', expired.uin, {}),
      sims.immigrationLedger.announce('PERMIT_REVOKED', revoked.uin, {}),
    ];
    await sims.sigaLedger.settle();
    await sims.immigrationLedger.settle();
    await service.pollOnce();
    const statusOf = async (uin: string) => (await world.store.readStream(identityStreamId(uin))).filter((e) => e.type === 'IdentityStatusChanged');
    expect((await statusOf(dead.uin)).map((e) => e.data)).to.deep.equal([{ uin: dead.uin, from: 'ACTIVE', to: 'DECEASED', reason: `SIGA ${changes[0]!.changeId}: death registered on 2026-11-30`, source: 'SIGA' }]);
    expect((await statusOf(expired.uin)).map((e) => [e.data.to, e.data.source])).to.deep.equal([['DEACTIVATED', 'IMMIGRATION']]);
    expect((await statusOf(revoked.uin)).map((e) => [e.data.to, e.data.source])).to.deep.equal([['BLOCKED', 'IMMIGRATION']]);
    const updates = (await world.store.readStream(identityStreamId(renamed.uin))).filter((e) => e.type === 'IdentityUpdated');
    expect(updates).to.have.length(1);
    expect(updates[0]!.data.changedFields).to.deep.equal(['surname']);
    const record = await world.sealer.open<{ demographics: { surname: string; givenNames: string } }>(updates[0]!.data.sealed as never);
    expect(record.demographics).to.include({ surname: 'Lima Corrigido', givenNames: renamed.demographics.givenNames });
    for (const c of changes) {
      const { state, events } = await syncState(world.store, `${c.changeId.startsWith('siga') ? 'siga' : 'immigration'}.in.${c.changeId}`);
      expect(state.status, c.changeId).to.equal('SUCCEEDED');
      expect(events.filter((e) => e.type === 'SyncSucceeded'), c.changeId).to.have.length(1);
    }
    expect(sims.sigaLedger.stats.webhookDeliveries).to.equal(4);
    // The death goes back to SIGA as a status update (its confirmation that the register applied it).
    await waitFor('SIGA told of the death', async () => sims.sigaLedger.records.get(dead.uin)?.identityStatus === 'DECEASED', 20_000);
  });

  it('a change type outside the sending system\'s agreement is a dead letter (SYNC_UNSUPPORTED) and changes nothing', async () => {
    const foreigner = foreigners[7]!;
    const citizen = citizens[21]!;
    const at = new Date().toISOString();
    const cases = [
      // SIGA does not speak for permits, nor Immigration for deaths; and a type nobody agreed to.
      { system: 'SIGA' as const, change: { seq: 901, changeId: 'siga-chg-permit', type: 'PERMIT_REVOKED', uin: foreigner.uin, at, details: {} } },
      { system: 'IMMIGRATION' as const, change: { seq: 902, changeId: 'immigration-chg-death', type: 'DECEASED', uin: citizen.uin, at, details: {} } },
      { system: 'SIGA' as const, change: { seq: 903, changeId: 'siga-chg-other', type: 'MARRIED', uin: citizen.uin, at, details: {} } },
    ];
    for (const { system, change } of cases) {
      expect(await service.inbound.apply(system, change, 'WEBHOOK'), change.changeId).to.equal('UNSUPPORTED');
      const { state, events } = await syncState(world.store, `${system.toLowerCase()}.in.${change.changeId}`);
      expect(state.status, change.changeId).to.equal('DEAD_LETTERED');
      expect(events.find((e) => e.type === 'SyncDeadLettered')?.data, change.changeId).to.include({ code: 'SYNC_UNSUPPORTED' });
    }
    for (const uin of [foreigner.uin, citizen.uin]) {
      expect((await world.store.readStream(identityStreamId(uin))).map((e) => e.type), uin).to.deep.equal(['IdentityCreated']);
    }
  });

  it('refuses a webhook whose signature does not verify (problem+json), and applies nothing', async () => {
    const body = JSON.stringify({ system: 'SIGA', change: { seq: 99, changeId: 'siga-chg-forged', type: 'DECEASED', uin: citizens[20]!.uin, at: new Date().toISOString(), details: {} } });
    const r = await fetch(`${apiUrl}/v1/sync/webhooks/siga`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-registo-signature': webhookSignature('wrong-secret', body) }, body });
    expect(r.status).to.equal(401);
    expect(r.headers.get('content-type')).to.match(/application\/problem\+json/);
    expect(await r.json()).to.include({ code: 'WEBHOOK_SIGNATURE_INVALID' });
    // Refused like a bad token: counted (and logged).
    expect(tokens.refusals.snapshot().byReason['WEBHOOK_SIGNATURE_INVALID:WEBHOOK_SIGNATURE_INVALID']).to.equal(1);
    expect((await world.store.readStream(identityStreamId(citizens[20]!.uin))).map((e) => e.type)).to.deep.equal(['IdentityCreated']);
  });

  it('reconciliation finds every one of 60 seeded differences (ten ways of seeding, eight field/kind pairs) and nothing else; rules resolve theirs', async () => {
    await replayProjection(world.store, world.driver, identityRegistryProjection);
    // Start from agreement: what the earlier tests changed is not part of what is seeded here.
    const baseline = { SIGA: await runReconciliation('SIGA', { store: world.store, db: world.driver, sealer: world.sealer, port: ports(sims).SIGA }, { resolveByRule: false }), IMMIGRATION: await runReconciliation('IMMIGRATION', { store: world.store, db: world.driver, sealer: world.sealer, port: ports(sims).IMMIGRATION }, { resolveByRule: false }) };
    // Before seeding, the only difference is a true one: the erased citizen never reached SIGA.
    expect([...baseline.SIGA.differences, ...baseline.IMMIGRATION.differences].map((d) => [d.field, d.kind, d.rule])).to.deep.equal([['record', 'MISSING_IN_EXTERNAL', 'register-authoritative-presence']]);
    const touched = new Set([...baseline.SIGA.differences, ...baseline.IMMIGRATION.differences].map((d) => d.uin));
    // Each SIGA-side difference is one of the earlier tests' leftovers (the erased citizen, the credential citizen): none among the fresh ones.
    const freshCitizens = citizens.slice(25).filter((c) => !touched.has(c.uin));
    const freshForeigners = foreigners.slice(8).filter((f) => !touched.has(f.uin));
    expect(freshCitizens.length).to.be.at.least(44);
    expect(freshForeigners.length).to.be.at.least(14);
    const seeded: Array<{ system: SyncSystem; uin: string; field: string; kind: Difference['kind'] }> = [];
    const put = async (system: 'siga' | 'immigration', uin: string, patch: Record<string, string>) =>
      void (await fetch(`${system === 'siga' ? sims.sigaUrl : sims.immigrationUrl}/_admin/records/${uin}`, { method: 'PUT', headers: { 'content-type': 'application/json', authorization: `Bearer ${sims.adminToken}` }, body: JSON.stringify(patch) }));
    const del = async (system: 'siga' | 'immigration', uin: string) => void (await fetch(`${system === 'siga' ? sims.sigaUrl : sims.immigrationUrl}/_admin/records/${uin}`, { method: 'DELETE', headers: { authorization: `Bearer ${sims.adminToken}` } }));
    let i = 0;
    const next = () => freshCitizens[i++]!;
    for (let k = 0; k < 10; k++) { const c = next(); await put('siga', c.uin, { surname: `${c.demographics.surname}x` }); seeded.push({ system: 'SIGA', uin: c.uin, field: 'surname', kind: 'VALUE_DIFFERS' }); }
    for (let k = 0; k < 8; k++) { const c = next(); await put('siga', c.uin, { dateOfBirth: '1901-01-01' }); seeded.push({ system: 'SIGA', uin: c.uin, field: 'dateOfBirth', kind: 'VALUE_DIFFERS' }); }
    for (let k = 0; k < 8; k++) { const c = next(); await del('siga', c.uin); seeded.push({ system: 'SIGA', uin: c.uin, field: 'record', kind: 'MISSING_IN_EXTERNAL' }); }
    for (let k = 0; k < 8; k++) { const c = next(); await put('siga', c.uin, { identityStatus: 'DEACTIVATED' }); seeded.push({ system: 'SIGA', uin: c.uin, field: 'identityStatus', kind: 'VALUE_DIFFERS' }); }
    for (let k = 0; k < 6; k++) { const c = next(); await put('siga', c.uin, { civilStatus: 'DECEASED' }); seeded.push({ system: 'SIGA', uin: c.uin, field: 'civilStatus', kind: 'VALUE_DIFFERS' }); }
    for (let k = 0; k < 6; k++) { const uin = `9${String(k).padStart(9, '0')}`; await put('siga', uin, { civilRegistryNumber: `RC-999999${k}-0`, identityStatus: 'ACTIVE', civilStatus: 'ALIVE' }); seeded.push({ system: 'SIGA', uin, field: 'record', kind: 'MISSING_IN_REGISTER' }); }
    let j = 0;
    const nextF = () => freshForeigners[j++]!;
    for (let k = 0; k < 4; k++) { const f = nextF(); await del('immigration', f.uin); seeded.push({ system: 'IMMIGRATION', uin: f.uin, field: 'record', kind: 'MISSING_IN_EXTERNAL' }); }
    for (let k = 0; k < 4; k++) { const f = nextF(); await put('immigration', f.uin, { permitNumber: 'AR-999999-9' }); seeded.push({ system: 'IMMIGRATION', uin: f.uin, field: 'permitNumber', kind: 'VALUE_DIFFERS' }); }
    for (let k = 0; k < 3; k++) { const f = nextF(); await put('immigration', f.uin, { permitStatus: 'EXPIRED' }); seeded.push({ system: 'IMMIGRATION', uin: f.uin, field: 'permitStatus', kind: 'VALUE_DIFFERS' }); }
    for (let k = 0; k < 3; k++) { const uin = `8${String(k).padStart(9, '0')}`; await put('immigration', uin, { permitNumber: `AR-99999${k}-0`, permitStatus: 'VALID' }); seeded.push({ system: 'IMMIGRATION', uin, field: 'record', kind: 'MISSING_IN_REGISTER' }); }
    expect(seeded).to.have.length(60);
    expect(new Set(seeded.map((s) => `${s.field}/${s.kind}`)).size).to.equal(8);

    const key = (d: { uin: string; field: string; kind: string }) => `${d.uin}/${d.field}/${d.kind}`;
    const before = new Set([...baseline.SIGA.differences, ...baseline.IMMIGRATION.differences].map(key));
    for (const system of ['SIGA', 'IMMIGRATION'] as const) {
      const result = await runReconciliation(system, { store: world.store, db: world.driver, sealer: world.sealer, port: ports(sims)[system] });
      const found = result.differences.map(key).filter((k) => !before.has(k)).sort();
      expect(found, system).to.deep.equal(seeded.filter((s) => s.system === system).map(key).sort());
      const seededIds = new Set(seeded.map((x) => `${x.system.toLowerCase()}.${x.uin}.${x.field}`));
      expect(result.ruleFailures.filter((f) => seededIds.has(f.mismatchId)), system).to.deep.equal([]);
    }
    // Each seeded difference is a ReconciliationMismatchFound with the field and both values (sealed when personal).
    const events = (await world.store.readAll()).filter((e) => e.type === 'ReconciliationMismatchFound');
    for (const s of seeded) {
      const e = events.find((x) => x.data.uin === s.uin && x.data.field === s.field)!;
      expect(e, key(s)).to.not.equal(undefined);
      if (s.field === 'surname' || s.field === 'dateOfBirth' || s.field === 'permitNumber') {
        expect(e.data).to.include({ registerValue: null, externalValue: null });
        const values = await world.sealer.open<{ registerValue: string; externalValue: string }>(e.data.sealed as never);
        expect(values.registerValue).to.not.equal(values.externalValue);
        expect(JSON.stringify(e.data)).not.to.include(values.registerValue);
      } else {
        expect(e.data.sealed).to.equal(null);
      }
    }
    await replayProjection(world.store, world.driver, syncStatusProjection);
    const resolved = (await world.store.readAll()).filter((e) => e.type === 'ReconciliationMismatchResolved' && e.data.resolution === 'RULE');
    // identityStatus 8 + presence 8 + civil status 6 at SIGA, presence 4 + permit 3 at Immigration.
    expect(resolved.map((e) => e.data.mismatchId).filter((id) => seeded.some((s) => id === `${s.system.toLowerCase()}.${s.uin}.${s.field}`))).to.have.length(29);
    // The report lists the rest as open, values of personal fields sealed.
    const report = await (await fetch(`${apiUrl}/v1/sync/report?system=siga&format=json`, { headers: { authorization: 'Bearer op-token' } })).json() as { openMismatches: Array<{ uin: string; field: string; valuesSealed: boolean }> };
    const openSeeded = report.openMismatches.filter((m) => seeded.some((s) => s.uin === m.uin && s.field === m.field));
    expect(openSeeded).to.have.length(10 + 8 + 6);
    for (const m of openSeeded) expect(m.valuesSealed).to.equal(m.field !== 'record');
    const csv = await (await fetch(`${apiUrl}/v1/sync/report?system=siga&format=csv`, { headers: { authorization: 'Bearer op-token' } })).text();
    expect(csv.split('\r\n')[0]).to.match(/^record,id,system,/);
    expect(csv.split('\r\n').filter((l) => l.startsWith('mismatch,')).length).to.equal(report.openMismatches.length);
    // An operator resolves one; resolving it again is refused; an unknown one is 404.
    const open = openSeeded.find((m) => m.field === 'surname')!;
    const resolve = (id: string) => fetch(`${apiUrl}/v1/sync/mismatches/${id}/resolve`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer op-token' }, body: JSON.stringify({ action: 'ACCEPT_EXTERNAL', note: 'SIGA holds the corrected surname' }) });
    const id = `siga.${open.uin}.surname`;
    expect((await resolve(id)).status).to.equal(200);
    expect(((await (await resolve(id)).json()) as { reason: string }).reason).to.equal('MISMATCH_NOT_OPEN');
    expect((await resolve('siga.0000000000.surname')).status).to.equal(404);
    const resolvedEvent = (await world.store.readStream(`sync-mismatch.${id}`)).at(-1)!;
    expect(resolvedEvent.data).to.include({ resolution: 'OPERATOR', action: 'ACCEPT_EXTERNAL', by: 'operator-1' });
  });

  it('each resolution action does what its name says: the side it names holds the chosen value and the next run does not reopen it', async () => {
    const reconcile = async (system: SyncSystem) => {
      // The run lists open mismatches and identities from the read models: bring them up to date first.
      await replayProjection(world.store, world.driver, identityRegistryProjection);
      await replayProjection(world.store, world.driver, syncStatusProjection);
      return runReconciliation(system, { store: world.store, db: world.driver, sealer: world.sealer, port: ports(sims)[system] });
    };
    const resolve = async (id: string, action: string) => {
      const r = await fetch(`${apiUrl}/v1/sync/mismatches/${id}/resolve`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer op-token' }, body: JSON.stringify({ action, note: `operator chose ${action}` }) });
      return { status: r.status, body: (await r.json()) as Record<string, unknown> };
    };
    const mismatch = async (id: string) => {
      const events = await world.store.readStream(`sync-mismatch.${id}`);
      return { events, open: events.at(-1)?.type !== 'ReconciliationMismatchResolved', resolved: events.filter((e) => e.type === 'ReconciliationMismatchResolved').at(-1) };
    };
    const openIds = async (system: SyncSystem, field: string, kind = field === 'record' ? 'MISSING_IN_REGISTER' : 'VALUE_DIFFERS') => {
      await replayProjection(world.store, world.driver, syncStatusProjection);
      const report = (await (await fetch(`${apiUrl}/v1/sync/report?system=${system.toLowerCase()}`, { headers: { authorization: 'Bearer op-token' } })).json()) as { openMismatches: Array<{ mismatchId: string; field: string; kind: string }> };
      return report.openMismatches.filter((m) => m.field === field && m.kind === kind).map((m) => m.mismatchId);
    };
    const demographicsOf = async (uin: string) => {
      const latest = (await world.store.readStream(identityStreamId(uin))).findLast((e) => e.type === 'IdentityCreated' || e.type === 'IdentityUpdated')!;
      return (await world.sealer.open<IdentityRecord>(latest.data.sealed as never)).demographics;
    };
    const exported = async (system: SyncSystem, uin: string) => (await ports(sims)[system].exportIdentities()).find((x) => String(x.uin) === uin)!;
    const uinOf = (id: string) => id.split('.')[1]!;

    const [toRegister, toExternal] = await openIds('SIGA', 'surname');
    const [toClose, duringOutage] = await openIds('SIGA', 'dateOfBirth');
    const [permitToRegister, permitToExternal] = await openIds('IMMIGRATION', 'permitNumber');
    const [inventedRecord] = await openIds('SIGA', 'record');
    expect([toRegister, toExternal, toClose, duringOutage, permitToRegister, permitToExternal, inventedRecord].every(Boolean)).to.equal(true);
    const sigaSurname = (await exported('SIGA', uinOf(toExternal!))).surname;

    // ACCEPT_REGISTER: a sync of the register's value; the mismatch stays open until it succeeds.
    for (const id of [toRegister!, permitToRegister!]) {
      const r = await resolve(id, 'ACCEPT_REGISTER');
      expect(r.status, id).to.equal(200);
      expect(r.body.action).to.equal('ACCEPT_REGISTER');
      const chosen = (await mismatch(id)).events.find((e) => e.type === 'ReconciliationResolutionChosen')!;
      expect(chosen.data).to.include({ action: 'ACCEPT_REGISTER', by: 'operator-1' });
      await waitFor(`${id} resolved once its sync succeeded`, async () => !(await mismatch(id)).open, 30_000);
      const sync = await syncState(world.store, `${id.split('.')[0]}.${chosen.eventId}`);
      expect(sync.state.status, id).to.equal('SUCCEEDED');
      expect(sync.events[0]!.data).to.include({ sourceEventId: chosen.eventId, sourceStreamId: `sync-mismatch.${id}`, sourceType: 'ReconciliationResolutionChosen' });
      // Resolved after the sync, not before.
      const resolvedAt = (await mismatch(id)).resolved!;
      expect(resolvedAt.data).to.include({ resolution: 'OPERATOR', action: 'ACCEPT_REGISTER' });
      expect(resolvedAt.position).to.be.greaterThan(sync.events.find((e) => e.type === 'SyncSucceeded')!.position);
    }
    // The systems now hold the register's values.
    expect((await exported('SIGA', uinOf(toRegister!))).surname).to.equal((await demographicsOf(uinOf(toRegister!))).surname);
    expect((await exported('IMMIGRATION', uinOf(permitToRegister!))).permitNumber).to.equal((await demographicsOf(uinOf(permitToRegister!))).residencePermitNumber);

    // An ACCEPT_REGISTER while SIGA is down: its sync is retried, then dead-lettered; the mismatch waits; a redrive lands it.
    const faults = `${sims.sigaUrl}/_admin/faults`;
    const admin = { authorization: `Bearer ${sims.adminToken}`, 'content-type': 'application/json' };
    expect((await fetch(faults, { method: 'PUT', headers: admin, body: JSON.stringify({ outageUntil: new Date(Date.now() + 600_000).toISOString() }) })).status).to.equal(200);
    expect((await resolve(duringOutage!, 'ACCEPT_REGISTER')).body).to.include({ status: 'PENDING' });
    const outageChoice = (await mismatch(duringOutage!)).events.find((e) => e.type === 'ReconciliationResolutionChosen')!;
    const outageSync = `siga.${outageChoice.eventId}`;
    await waitFor('the sync of the choice dead-lettered', async () => (await syncState(world.store, outageSync)).state.status === 'DEAD_LETTERED', 30_000);
    expect((await syncState(world.store, outageSync)).state.attempts).to.equal(3);
    expect((await mismatch(duringOutage!)).open).to.equal(true);
    expect((await fetch(faults, { method: 'DELETE', headers: { authorization: admin.authorization } })).status).to.equal(200);
    const redriven = await fetch(`${apiUrl}/v1/sync/redrive`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: 'Bearer op-token' }, body: JSON.stringify({ syncId: outageSync }) });
    expect(redriven.status, await redriven.text()).to.equal(200);
    await waitFor('the redriven sync resolved the mismatch', async () => !(await mismatch(duringOutage!)).open, 30_000);
    expect((await exported('SIGA', uinOf(duringOutage!))).dateOfBirth).to.equal((await demographicsOf(uinOf(duringOutage!))).dateOfBirth);

    // ACCEPT_EXTERNAL: the register takes SIGA's surname through the identity decider, the operator as actor.
    const received = sims.sigaLedger.received.length;
    const external = await resolve(toExternal!, 'ACCEPT_EXTERNAL');
    expect(external.status).to.equal(200);
    expect(external.body).to.include({ status: 'RESOLVED', action: 'ACCEPT_EXTERNAL' });
    const update = (await world.store.readStream(identityStreamId(uinOf(toExternal!)))).findLast((e) => e.type === 'IdentityUpdated')!;
    expect(update.data.changedFields).to.deep.equal(['surname']);
    expect(update.metadata.actor).to.deep.equal({ id: 'operator-1', role: 'operator' });
    expect((await demographicsOf(uinOf(toExternal!))).surname).to.equal(sigaSurname);
    // SIGA is not told again: a later status change of the same identity (its stream is synced in order) is all it hears.
    const deactivated = await changeStatus(world, uinOf(toExternal!), 'DEACTIVATED');
    await waitFor('the later status change synced', async () => (await syncState(world.store, expectedSyncId('SIGA', deactivated))).state.status === 'SUCCEEDED', 30_000);
    expect((await syncState(world.store, expectedSyncId('SIGA', update))).state.exists).to.equal(false);
    expect(sims.sigaLedger.received.slice(received).filter((r) => r.body.uin === uinOf(toExternal!)).map((r) => r.body.status)).to.deep.equal(['DEACTIVATED']);

    // CLOSE_WITHOUT_CHANGE (asked under its old name NONE): closed, neither side changes.
    const dobBefore = (await exported('SIGA', uinOf(toClose!))).dateOfBirth;
    expect((await resolve(toClose!, 'NONE')).body).to.include({ status: 'RESOLVED', action: 'CLOSE_WITHOUT_CHANGE' });
    expect((await mismatch(toClose!)).resolved!.data).to.include({ resolution: 'OPERATOR', action: 'CLOSE_WITHOUT_CHANGE' });
    expect((await exported('SIGA', uinOf(toClose!))).dateOfBirth).to.equal(dobBefore);

    // Actions that cannot do what they say are refused, and leave the mismatch open.
    const refused = await resolve(permitToExternal!, 'ACCEPT_EXTERNAL');
    expect(refused.status).to.equal(422);
    expect(refused.body.reason).to.equal('MISMATCH_ACTION_NOT_ALLOWED');
    expect((await resolve(inventedRecord!, 'ACCEPT_REGISTER')).body.reason).to.equal('MISMATCH_ACTION_NOT_ALLOWED');
    expect((await mismatch(permitToExternal!)).open).to.equal(true);

    // The next runs: the accepted ones stay resolved (both sides agree now); the closed one is found again.
    await reconcile('SIGA');
    await reconcile('IMMIGRATION');
    for (const id of [toRegister!, permitToRegister!, duringOutage!, toExternal!]) {
      const m = await mismatch(id);
      expect(m.open, id).to.equal(false);
      expect(m.events.filter((e) => e.type === 'ReconciliationMismatchFound'), id).to.have.length(1);
    }
    expect((await mismatch(toClose!)).open).to.equal(true);
    expect((await mismatch(toClose!)).events.filter((e) => e.type === 'ReconciliationMismatchFound')).to.have.length(2);
  });

  it('runs reconciliation on its schedule too', async () => {
    const scheduled = new SyncService({ store: world.store, db: world.driver, sealer: world.sealer, ports: ports(sims), kafka: null, retryDelaysMs: [100], pollMs: 60_000, reconcileIntervalMs: 300, logger: createLogger('silent') });
    const run = scheduled.run();
    try {
      await waitFor('a scheduled run for each system', async () => scheduled.lastReconciliation.SIGA !== undefined && scheduled.lastReconciliation.IMMIGRATION !== undefined, 20_000);
      expect(scheduled.lastReconciliation.SIGA!.compared).to.equal(citizens.length + 1);
      expect(scheduled.lastReconciliation.IMMIGRATION!.compared).to.equal(foreigners.length);
    } finally {
      await scheduled.stop();
      await run;
    }
  });
});
