import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { createLogger } from '@registo/base';
import { type EventStore, PostgresDriver } from '@registo/event-store';
import { SubjectSealer, blindIndex } from '@registo/crypto';
import { type DeviceCredentials, type EnrollmentPacket, issueDeviceCertificate } from '@registo/packets';
import { SqlConsumer, SqlDeadLetterSink, StoreEventSource } from '@registo/messaging';
import { ApiTokens, createHttpApp, registerAdjudicationRoutes, registerIdentityRoutes, registerIntakeRoutes } from '@registo/gateways';
import {
  type EnrollmentCommand,
  type EnrollmentPersonalData,
  createIdentityWithNewUin,
  enrollmentDecider,
  enrollmentStreamId,
  generateUin,
  handleCommand,
  identityRecordOf,
  identityStreamId,
  subjectIdFor,
} from '@registo/producers';
import { PROJECTIONS } from '@registo/projections';
import type { EventEnvelope } from '@registo/schemas';
import { type ApiRequestOptions, type PacketTestEnv, type TestDatabase, apiRequest, createPacketTestEnv, createTestDatabase, openSealedStore, validPacket } from '../src/index.js';

const TOKENS = [
  'tok-client:client-1:registration_client',
  'tok-adj:adjudicator-7:adjudicator',
  'tok-adj2:adjudicator-9:adjudicator',
  'tok-officer:officer-3:identity_officer',
  'tok-ops:ops-1:operator',
].join(',');

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Answer {
  status: number;
  contentType: string;
  body: Record<string, unknown>;
}

/** A registration id from a given centre, at the current second. */
const regIdAt = (centre: string, sequence: number): string => `${centre}-${String(sequence).padStart(5, '0')}-${new Date().toISOString().replace(/[-:T]/g, '').slice(0, 14)}`;

describe('adjudication and identity APIs on PostgreSQL: tokens, roles, validation, decisions, search, status', function () {
  this.timeout(120_000);
  const logger = createLogger('silent');
  const indexKey = randomBytes(32);
  let env: PacketTestEnv;
  let db: TestDatabase;
  let driver: PostgresDriver;
  let store: EventStore;
  let sealer: SubjectSealer;
  let app: FastifyInstance;
  let url: string;
  const consumers: Array<{ consumer: SqlConsumer; running: Promise<void> }> = [];

  /** The cases, oldest first: their ids sort in another order than their requests (centres 10040, 10010, 10030, 10020). */
  const mismatchCases: Array<{ regId: string; adjudicationId: string; packet: EnrollmentPacket }> = [];
  let duplicateCase: { regId: string; adjudicationId: string; packet: EnrollmentPacket };
  /** An identity found by its civil-registry number, and the candidate of the duplicate case. */
  let citizen: { uin: string; regId: string; number: string; personal: EnrollmentPersonalData };
  /** Another identity, whose status the officer changes. */
  let other: { uin: string; regId: string };

  const call = async (method: string, path: string, options: ApiRequestOptions = {}): Promise<Answer> => {
    const res = await apiRequest(url, method, path, options);
    const text = await res.text();
    return { status: res.status, contentType: res.headers.get('content-type') ?? '', body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  };

  /** Every error: problem+json (RFC 9457) with the stable code and the status repeated. */
  const expectProblem = (a: Answer, status: number, code: string, what = ''): void => {
    expect(a.status, `${what} ${JSON.stringify(a.body)}`).to.equal(status);
    expect(a.contentType, what).to.match(/^application\/problem\+json/);
    expect(a.body.code, what).to.equal(code);
    expect(a.body.status, what).to.equal(status);
    expect(a.body.type, what).to.be.a('string').and.match(/^https:\/\/registo\.st\/problems\//);
    expect(a.body.detail, what).to.be.a('string').and.not.be.empty;
  };

  const command = (regId: string, cmd: EnrollmentCommand) =>
    handleCommand(store, enrollmentDecider, enrollmentStreamId(regId), cmd, {
      metadata: { correlationId: regId, actor: { id: 'enrollment-process', role: 'system' } },
    });

  /** A device of each centre the cases are filed under: a device speaks only for its own centre. */
  const devices = new Map<string, Promise<DeviceCredentials>>();
  const deviceOf = (centreId: string): Promise<DeviceCredentials> => {
    if (!devices.has(centreId)) {
      devices.set(centreId, issueDeviceCertificate(env.ca, { deviceId: `dev-${centreId}`, centreId, notBefore: new Date(Date.now() - 30 * 86_400_000) }));
    }
    return devices.get(centreId)!;
  };

  const submit = async (packet: EnrollmentPacket): Promise<void> => {
    const device = await deviceOf(packet.regId.slice(0, 5));
    Object.assign(packet, { centreId: device.centreId, deviceId: device.deviceId });
    const body = await env.seal(packet, device);
    const res = await fetch(`${url}/v1/packets`, { method: 'POST', headers: { 'content-type': 'application/jose' }, body });
    expect(res.status).to.equal(202);
  };

  /** Waits until every read model has applied every event of its categories. */
  const projected = async (): Promise<void> => {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const rows = await driver.query<{ consumer: string; offset: string | null; last: string }>(
        `SELECT c.name AS consumer,
                (SELECT "offset" FROM registo_consumer_offsets o WHERE o.consumer = c.name) AS offset,
                (SELECT coalesce(max(position), 0) FROM registo_events e WHERE e.category = c.category) AS last
           FROM (VALUES ('enrollment_status', 'enrollment'), ('adjudication_queue', 'enrollment'), ('identity_registry', 'identity')) AS c(name, category)`,
      );
      if (rows.every((r) => Number(r.offset ?? 0) >= Number(r.last))) return;
      if (Date.now() > deadline) throw new Error(`read models did not catch up: ${JSON.stringify(rows)}`);
      await sleep(20);
    }
  };

  /** The log must not move: refused requests write nothing. */
  const unchanged = async (head: number): Promise<void> => {
    expect(await store.headPosition()).to.equal(head);
  };

  const decisionPath = (id: string): string => `/v1/adjudications/${encodeURIComponent(id)}/decision`;
  const goodDecision = { decision: 'APPROVE', reason: 'documents checked in person' };

  before(async () => {
    env = await createPacketTestEnv();
    db = await createTestDatabase();
    ({ driver, store, sealer } = await openSealedStore(db.url));
    for (const projection of Object.values(PROJECTIONS)) await driver.migrate(projection.ddl);
    const tokens = ApiTokens.parse(TOKENS);
    app = createHttpApp(logger);
    registerIntakeRoutes(app, { store, sealer, trust: env.trust, tokens });
    registerAdjudicationRoutes(app, { store, db: driver, sealer, tokens });
    registerIdentityRoutes(app, { store, db: driver, indexKey, tokens });
    url = await app.listen({ port: 0, host: '127.0.0.1' });
    for (const projection of Object.values(PROJECTIONS)) {
      const consumer = new SqlConsumer(driver, projection, new StoreEventSource(store), new SqlDeadLetterSink(driver), { logger });
      consumers.push({ consumer, running: consumer.run() });
    }

    // An identity, as the process creates it: sealed record, blind index of the civil-registry number.
    const number = 'RC-0004711-3';
    const first = validPacket({ regId: regIdAt('10050', 1), demographics: { civilRegistryNumber: number, givenNames: 'Ana Maria', surname: 'Costa Neto' } });
    const personal: EnrollmentPersonalData = { demographics: first.demographics, documents: first.documents, biometrics: first.biometrics };
    const created = await createIdentityWithNewUin(store, {
      regId: first.regId,
      residency: 'CITIZEN',
      sealed: await sealer.seal(subjectIdFor(first.regId), identityRecordOf(personal)),
      civilRegistryIndex: blindIndex(number, indexKey),
    });
    citizen = { uin: created.uin, regId: first.regId, number, personal };
    const otherRegId = regIdAt('10050', 2);
    const second = await createIdentityWithNewUin(store, {
      regId: otherRegId,
      residency: 'CITIZEN',
      sealed: await sealer.seal(subjectIdFor(otherRegId), { demographics: { givenNames: 'Rui' } }),
      civilRegistryIndex: blindIndex('RC-0000815-1', indexKey),
    });
    other = { uin: second.uin, regId: otherRegId };

    // Four cases an officer must look at (SIGA disagrees), requested one after another.
    for (const [i, centre] of ['10040', '10010', '10030', '10020'].entries()) {
      const packet = validPacket({ regId: regIdAt(centre, i + 1), demographics: { civilRegistryNumber: `RC-000010${i}-0` } });
      await submit(packet);
      const regId = packet.regId;
      const checkId = `${regId}:SIGA:1`;
      await command(regId, { type: 'RequestExternalCheck', regId, system: 'SIGA', checkId });
      await command(regId, { type: 'CompleteExternalCheck', regId, checkId, outcome: 'MISMATCH', discrepancies: ['dateOfBirth'] });
      await command(regId, { type: 'RequestAdjudication', regId, adjudicationId: `adj-${checkId}`, reasons: ['SIGA disagrees on dateOfBirth'] });
      mismatchCases.push({ regId, adjudicationId: `adj-${checkId}`, packet });
      await sleep(5);
    }
    // The same person as the identity again: a suspected duplicate of it.
    const again = validPacket({ regId: regIdAt('10035', 9), demographics: { ...first.demographics, address: { district: 'Lobata', locality: 'Guadalupe' } } });
    await submit(again);
    {
      const regId = again.regId;
      const checkId = `${regId}:SIGA:1`;
      const adjudicationId = `adj-${regId}:dup:${citizen.uin}`;
      await command(regId, { type: 'RequestExternalCheck', regId, system: 'SIGA', checkId });
      await command(regId, { type: 'CompleteExternalCheck', regId, checkId, outcome: 'MATCH', discrepancies: [] });
      await command(regId, { type: 'SuspectDuplicate', regId, candidateUin: citizen.uin, method: 'DEMOGRAPHIC', score: 1 });
      await command(regId, { type: 'RequestAdjudication', regId, adjudicationId, reasons: [`possible duplicate of ${citizen.uin} (DEMOGRAPHIC, score 1)`] });
      duplicateCase = { regId, adjudicationId, packet: again };
    }
    await projected();
  });

  after(async () => {
    for (const { consumer } of consumers) await consumer.stop();
    await Promise.allSettled(consumers.map((c) => c.running));
    await app?.close();
    await store?.close();
    await db?.drop();
  });

  it('401 without a token, with a wrong one or another scheme, on every route; nothing is written', async () => {
    const head = await store.headPosition();
    const [c] = mismatchCases;
    const routes: Array<[string, string, unknown?]> = [
      ['GET', '/v1/adjudications'],
      ['GET', `/v1/adjudications/${c!.adjudicationId}`],
      ['POST', decisionPath(c!.adjudicationId), goodDecision],
      ['GET', `/v1/identities/${citizen.uin}`],
      ['GET', `/v1/identities?civilRegistryNumber=${citizen.number}`],
      ['POST', `/v1/identities/${citizen.uin}/status`, { status: 'BLOCKED', reason: 'fraud investigation' }],
      ['GET', `/v1/packets/${c!.regId}`],
    ];
    for (const [method, path, body] of routes) {
      for (const authorization of [undefined, 'Bearer wrong-token', 'Bearer tok-ad', 'Bearer tok-adjx', 'Basic dG9rLWFkajo=', 'tok-adj']) {
        const a = await call(method, path, { ...(authorization !== undefined && { authorization }), ...(body !== undefined && { body }) });
        expectProblem(a, 401, 'UNAUTHENTICATED', `${method} ${path} with ${authorization ?? 'no token'}`);
      }
    }
    // Anonymous callers learn nothing about the bodies the API accepts.
    expectProblem(await call('POST', decisionPath(c!.adjudicationId), { body: { decision: 'MAYBE' } }), 401, 'UNAUTHENTICATED', 'anonymous invalid decision');
    expectProblem(await call('POST', `/v1/identities/${citizen.uin}/status`, { token: 'nope', body: { status: 'ZOMBIE' } }), 401, 'UNAUTHENTICATED', 'wrong token invalid status');
    await unchanged(head);
  });

  it('403 for roles that may not: a registration client deciding, an adjudicator changing a status, an operator opening a case', async () => {
    const head = await store.headPosition();
    const [c] = mismatchCases;
    const refused: Array<[string, string, string, unknown?]> = [
      ['tok-client', 'POST', decisionPath(c!.adjudicationId), goodDecision],
      ['tok-officer', 'POST', decisionPath(c!.adjudicationId), goodDecision],
      ['tok-ops', 'POST', decisionPath(c!.adjudicationId), goodDecision],
      ['tok-client', 'GET', '/v1/adjudications'],
      ['tok-ops', 'GET', `/v1/adjudications/${c!.adjudicationId}`],
      ['tok-officer', 'GET', `/v1/adjudications/${c!.adjudicationId}`],
      ['tok-adj', 'POST', `/v1/identities/${citizen.uin}/status`, { status: 'BLOCKED', reason: 'fraud investigation' }],
      ['tok-client', 'POST', `/v1/identities/${citizen.uin}/status`, { status: 'BLOCKED', reason: 'fraud investigation' }],
      ['tok-client', 'GET', `/v1/identities/${citizen.uin}`],
      ['tok-client', 'GET', `/v1/identities?civilRegistryNumber=${citizen.number}`],
    ];
    for (const [token, method, path, body] of refused) {
      const a = await call(method, path, { token, ...(body !== undefined && { body }) });
      expectProblem(a, 403, 'FORBIDDEN', `${token} ${method} ${path}`);
    }
    const a = await call('POST', decisionPath(c!.adjudicationId), { token: 'tok-client', body: goodDecision });
    expect(a.body).to.include({ role: 'registration_client' });
    expect(a.body.allowed).to.deep.equal(['adjudicator']);
    // A wrong role with an invalid body is still a wrong role.
    expectProblem(await call('POST', decisionPath(c!.adjudicationId), { token: 'tok-client', body: { decision: 'MAYBE' } }), 403, 'FORBIDDEN', 'client, invalid body');
    await unchanged(head);
  });

  it('400 problem+json for invalid bodies and parameters; nothing is written', async () => {
    const head = await store.headPosition();
    const [c] = mismatchCases;
    const path = decisionPath(c!.adjudicationId);
    const decisions: Array<[string, unknown]> = [
      ['unknown decision', { decision: 'MAYBE', reason: 'not sure at all' }],
      ['missing decision', { reason: 'documents checked in person' }],
      ['missing reason', { decision: 'APPROVE' }],
      ['reason too short', { decision: 'APPROVE', reason: 'ok' }],
      ['reason not a string', { decision: 'APPROVE', reason: 42 }],
      ['extra field', { ...goodDecision, adjudicatorId: 'someone-else' }],
      ['another extra field', { ...goodDecision, comment: 'x' }],
      ['bad UIN pattern: letters', { decision: 'TREAT_AS_UPDATE', reason: 'same person', targetUin: 'ABCDEFGHIJ' }],
      ['bad UIN pattern: too short', { decision: 'TREAT_AS_UPDATE', reason: 'same person', targetUin: '12345' }],
      ['bad UIN pattern: too long', { decision: 'TREAT_AS_UPDATE', reason: 'same person', targetUin: '1234567890123' }],
      ['an array', [goodDecision]],
    ];
    for (const [what, body] of decisions) {
      const a = await call('POST', path, { token: 'tok-adj', body });
      expectProblem(a, 400, 'REQUEST_INVALID', what);
    }
    const statuses: Array<[string, unknown]> = [
      ['unknown status', { status: 'ZOMBIE', reason: 'not a status' }],
      ['missing reason', { status: 'BLOCKED' }],
      ['extra field', { status: 'BLOCKED', reason: 'fraud investigation', source: 'SIGA' }],
    ];
    for (const [what, body] of statuses) {
      expectProblem(await call('POST', `/v1/identities/${citizen.uin}/status`, { token: 'tok-officer', body }), 400, 'REQUEST_INVALID', what);
    }
    // Not JSON at all: still a 400 problem with a code.
    const broken = await call('POST', path, { token: 'tok-adj', raw: '{"decision": "APPROVE",' });
    expect(broken.status).to.equal(400);
    expect(broken.contentType).to.match(/^application\/problem\+json/);
    expect(broken.body.code).to.be.a('string').and.match(/^[A-Z][A-Z_]+$/);

    expectProblem(await call('GET', '/v1/identities', { token: 'tok-officer' }), 400, 'REQUEST_INVALID', 'search without a number');
    expectProblem(await call('GET', '/v1/adjudications?status=MAYBE', { token: 'tok-adj' }), 400, 'REQUEST_INVALID', 'unknown list status');
    expectProblem(await call('GET', '/v1/packets/not-a-registration-id', { token: 'tok-client' }), 400, 'REQUEST_INVALID', 'bad registration id');
    await unchanged(head);
  });

  it('404 for an unknown adjudication, identity, packet or route', async () => {
    const head = await store.headPosition();
    let unknownUin = generateUin();
    while (unknownUin === citizen.uin || unknownUin === other.uin) unknownUin = generateUin();
    expectProblem(await call('GET', '/v1/adjudications/adj-10031-00001-20990101000000:SIGA:1', { token: 'tok-adj' }), 404, 'NOT_FOUND', 'case');
    expectProblem(await call('POST', decisionPath('adj-10031-00001-20990101000000:SIGA:1'), { token: 'tok-adj', body: goodDecision }), 404, 'NOT_FOUND', 'decision');
    expectProblem(await call('GET', `/v1/identities/${unknownUin}`, { token: 'tok-officer' }), 404, 'NOT_FOUND', 'identity');
    expectProblem(
      await call('POST', `/v1/identities/${unknownUin}/status`, { token: 'tok-officer', body: { status: 'BLOCKED', reason: 'fraud investigation' } }),
      404,
      'NOT_FOUND',
      'status of an unknown identity',
    );
    expectProblem(await call('GET', '/v1/packets/10031-00001-20990101000000', { token: 'tok-client' }), 404, 'NOT_FOUND', 'packet');
    expectProblem(await call('GET', '/v1/nothing-here', { token: 'tok-adj' }), 404, 'NOT_FOUND', 'route');
    await unchanged(head);
    expect(await store.readStream(identityStreamId(unknownUin))).to.deep.equal([]);
  });

  it('GET /v1/adjudications lists the open cases oldest first and pages through all of them with `after`', async () => {
    const open = [...mismatchCases.map((c) => c.adjudicationId), duplicateCase.adjudicationId];
    const all = await call('GET', '/v1/adjudications', { token: 'tok-adj' });
    expect(all.status).to.equal(200);
    const items = all.body.items as Array<Record<string, unknown>>;
    expect(items.map((i) => i.adjudicationId)).to.deep.equal(open);
    expect(items[0]).to.deep.include({ regId: mismatchCases[0]!.regId, status: 'OPEN', reasons: ['SIGA disagrees on dateOfBirth'], candidates: [], decision: null, adjudicatorId: null });
    expect(items[4]).to.deep.include({ regId: duplicateCase.regId, status: 'OPEN', candidates: [citizen.uin] });
    expect(all.body.next).to.equal(null);
    // Officers of every role that may see the queue see the same one.
    for (const token of ['tok-officer', 'tok-ops']) {
      const a = await call('GET', '/v1/adjudications', { token });
      expect((a.body.items as Array<{ adjudicationId: string }>).map((i) => i.adjudicationId), token).to.deep.equal(open);
    }

    for (const limit of [1, 2, 3]) {
      const seen: string[] = [];
      let after: string | null = null;
      for (let page = 0; page < 10; page++) {
        const a = await call('GET', `/v1/adjudications?limit=${limit}${after ? `&after=${encodeURIComponent(after)}` : ''}`, { token: 'tok-adj' });
        expect(a.status).to.equal(200);
        const ids = (a.body.items as Array<{ adjudicationId: string }>).map((i) => i.adjudicationId);
        expect(ids.length).to.be.at.most(limit);
        seen.push(...ids);
        after = a.body.next as string | null;
        if (!after) break;
      }
      expect(seen, `limit ${limit}`).to.deep.equal(open);
    }
    const none = await call('GET', '/v1/adjudications?status=DECIDED', { token: 'tok-adj' });
    expect(none.body).to.deep.equal({ items: [], next: null });
  });

  it("GET /v1/adjudications/:id shows the applicant's demographics and the candidate identity, never a biometric template", async () => {
    const a = await call('GET', `/v1/adjudications/${encodeURIComponent(duplicateCase.adjudicationId)}`, { token: 'tok-adj' });
    expect(a.status).to.equal(200);
    expect(a.body).to.deep.include({ adjudicationId: duplicateCase.adjudicationId, regId: duplicateCase.regId, status: 'OPEN' });
    const applicant = a.body.applicant as EnrollmentPersonalData;
    expect(applicant.demographics).to.deep.equal(duplicateCase.packet.demographics);
    expect(applicant.documents).to.deep.equal(duplicateCase.packet.documents);
    expect(applicant.biometrics).to.deep.equal(duplicateCase.packet.biometrics.map(({ template: _t, ...b }) => b));
    const candidates = a.body.candidates as Array<{ candidate: string; identity: Record<string, unknown> }>;
    expect(candidates.map((c) => c.candidate)).to.deep.equal([citizen.uin]);
    expect(candidates[0]!.identity).to.deep.equal(identityRecordOf(citizen.personal));
    expect((a.body.timeline as Array<{ type: string }>).map((t) => t.type)).to.deep.equal([
      'EnrollmentSubmitted',
      'PacketValidated',
      'ExternalCheckRequested',
      'ExternalCheckCompleted',
      'DuplicateSuspected',
      'AdjudicationRequested',
    ]);
    const text = JSON.stringify(a.body);
    for (const b of duplicateCase.packet.biometrics) expect(text).not.to.include(b.template);
    expect(text).not.to.include('"template"');

    const mismatch = await call('GET', `/v1/adjudications/${encodeURIComponent(mismatchCases[1]!.adjudicationId)}`, { token: 'tok-adj' });
    expect((mismatch.body.applicant as EnrollmentPersonalData).demographics).to.deep.equal(mismatchCases[1]!.packet.demographics);
    expect(mismatch.body.candidates).to.deep.equal([]);
  });

  it("a decision records the adjudicator from the token; deciding again is refused with a 4xx and a stable code", async () => {
    const c = mismatchCases[0]!;
    const a = await call('POST', decisionPath(c.adjudicationId), { token: 'tok-adj', body: { decision: 'APPROVE', reason: 'birth certificate shows the registry is wrong' } });
    expect(a.status, JSON.stringify(a.body)).to.equal(200);
    expect(a.body).to.include({ adjudicationId: c.adjudicationId, regId: c.regId, decision: 'APPROVE', adjudicatorId: 'adjudicator-7' });
    const events = await store.readStream(enrollmentStreamId(c.regId));
    const decided = events.at(-1)!;
    expect(decided.type).to.equal('AdjudicationDecided');
    expect(a.body.position).to.equal(decided.position);
    expect(decided.data).to.deep.equal({
      regId: c.regId,
      adjudicationId: c.adjudicationId,
      decision: 'APPROVE',
      reason: 'birth certificate shows the registry is wrong',
      adjudicatorId: 'adjudicator-7',
      targetUin: null,
    });
    expect(decided.metadata.actor).to.deep.equal({ id: 'adjudicator-7', role: 'adjudicator' });
    expect(decided.metadata.correlationId).to.equal(c.regId);

    // Again, by the same adjudicator or another, with the same or another decision: refused, nothing written.
    const head = await store.headPosition();
    for (const [token, body] of [
      ['tok-adj', { decision: 'APPROVE', reason: 'birth certificate shows the registry is wrong' }],
      ['tok-adj2', { decision: 'REJECT', reason: 'I disagree with my colleague' }],
    ] as const) {
      const again = await call('POST', decisionPath(c.adjudicationId), { token, body });
      expectProblem(again, 422, 'COMMAND_REJECTED', `${token} again`);
      expect(again.body.reason).to.equal('ENROLLMENT_WRONG_STATE');
    }
    await unchanged(head);

    await projected();
    const row = (await call('GET', '/v1/adjudications?status=DECIDED', { token: 'tok-adj' })).body.items as Array<Record<string, unknown>>;
    expect(row.map((r) => r.adjudicationId)).to.deep.equal([c.adjudicationId]);
    expect(row[0]).to.include({ status: 'DECIDED', decision: 'APPROVE', adjudicatorId: 'adjudicator-7', decisionReason: 'birth certificate shows the registry is wrong' });
    // Decided after the read model caught up: the same refusal.
    expectProblem(await call('POST', decisionPath(c.adjudicationId), { token: 'tok-adj2', body: goodDecision }), 422, 'COMMAND_REJECTED', 'after projection');
    const packet = await call('GET', `/v1/packets/${c.regId}`, { token: 'tok-client' });
    expect(packet.body).to.include({ status: 'VALIDATED', openAdjudication: null });
    const timeline = packet.body.timeline as Array<{ type: string; actor: unknown }>;
    expect(timeline.at(-1)).to.deep.include({ type: 'AdjudicationDecided', actor: { id: 'adjudicator-7', role: 'adjudicator' } });

    // A rejected case is closed: deciding it again says so.
    const r = mismatchCases[1]!;
    expect((await call('POST', decisionPath(r.adjudicationId), { token: 'tok-adj2', body: { decision: 'REJECT', reason: 'documents are forged' } })).status).to.equal(200);
    expect((await store.readStream(enrollmentStreamId(r.regId))).slice(-2).map((e) => e.type)).to.deep.equal(['AdjudicationDecided', 'EnrollmentRejected']);
    const closed = await call('POST', decisionPath(r.adjudicationId), { token: 'tok-adj', body: goodDecision });
    expectProblem(closed, 422, 'COMMAND_REJECTED', 'closed');
    expect(closed.body.reason).to.equal('ENROLLMENT_CLOSED');
  });

  it('two adjudicators deciding the same case at once: one decision is recorded, the other is refused', async () => {
    const c = mismatchCases[2]!;
    const answers = await Promise.all(
      (['tok-adj', 'tok-adj2'] as const).map((token) => call('POST', decisionPath(c.adjudicationId), { token, body: { decision: 'REJECT', reason: `rejected by ${token}` } })),
    );
    expect(answers.map((a) => a.status).sort()).to.deep.equal([200, 422]);
    const loser = answers.find((a) => a.status === 422)!;
    expectProblem(loser, 422, 'COMMAND_REJECTED', 'loser');
    const winner = answers.find((a) => a.status === 200)!;
    const decided = (await store.readStream(enrollmentStreamId(c.regId))).filter((e) => e.type === 'AdjudicationDecided');
    expect(decided).to.have.length(1);
    expect(decided[0]!.data.adjudicatorId).to.equal(winner.body.adjudicatorId);
    expect(decided[0]!.metadata.actor).to.deep.equal({ id: winner.body.adjudicatorId, role: 'adjudicator' });

    await projected();
    const open = (await call('GET', '/v1/adjudications', { token: 'tok-adj' })).body.items as Array<{ adjudicationId: string }>;
    expect(open.map((i) => i.adjudicationId)).to.deep.equal([mismatchCases[3]!.adjudicationId, duplicateCase.adjudicationId]);
  });

  it('GET /v1/identities?civilRegistryNumber= finds the identity through the blind index, and nothing for another number', async () => {
    const found = await call('GET', `/v1/identities?civilRegistryNumber=${encodeURIComponent(citizen.number)}`, { token: 'tok-officer' });
    expect(found.status).to.equal(200);
    const items = found.body.items as Array<Record<string, unknown>>;
    expect(items).to.have.length(1);
    expect(items[0]).to.deep.include({ uin: citizen.uin, status: 'ACTIVE', residency: 'CITIZEN', enrollments: [citizen.regId], erased: false });
    // The register shows no personal data, nor the index itself.
    expect(Object.keys(items[0]!).sort()).to.deep.equal(['createdAt', 'enrollments', 'erased', 'residency', 'status', 'uin', 'updatedAt']);
    // Written the way people write it: same person.
    const loose = await call('GET', `/v1/identities?civilRegistryNumber=${encodeURIComponent(' rc-0004711-3 ')}`, { token: 'tok-adj' });
    expect((loose.body.items as Array<{ uin: string }>).map((i) => i.uin)).to.deep.equal([citizen.uin]);
    for (const number of ['RC-0004711-4', 'RC-0000100-0', 'RC-0000815-2']) {
      const none = await call('GET', `/v1/identities?civilRegistryNumber=${encodeURIComponent(number)}`, { token: 'tok-ops' });
      expect(none.status).to.equal(200);
      expect(none.body, number).to.deep.equal({ items: [] });
    }
    const byUin = await call('GET', `/v1/identities/${citizen.uin}`, { token: 'tok-officer' });
    expect(byUin.body).to.deep.equal(items[0]);
  });

  it("POST /v1/identities/:uin/status changes the status with the officer as source, and refuses to change a DECEASED identity", async () => {
    const path = `/v1/identities/${other.uin}/status`;
    const blocked = await call('POST', path, { token: 'tok-officer', body: { status: 'BLOCKED', reason: 'fraud investigation 12/2026' } });
    expect(blocked.status, JSON.stringify(blocked.body)).to.equal(200);
    expect(blocked.body).to.deep.equal({ uin: other.uin, status: 'BLOCKED', changed: true });
    let events = await store.readStream(identityStreamId(other.uin));
    expect(events.map((e) => e.type)).to.deep.equal(['IdentityCreated', 'IdentityStatusChanged']);
    expect(events[1]!.data).to.deep.equal({ uin: other.uin, from: 'ACTIVE', to: 'BLOCKED', reason: 'fraud investigation 12/2026', source: 'officer:officer-3' });
    expect(events[1]!.metadata.actor).to.deep.equal({ id: 'officer-3', role: 'identity_officer' });
    await projected();
    expect((await call('GET', `/v1/identities/${other.uin}`, { token: 'tok-ops' })).body).to.include({ status: 'BLOCKED' });

    // The same status again changes nothing.
    const same = await call('POST', path, { token: 'tok-officer', body: { status: 'BLOCKED', reason: 'still under investigation' } });
    expect(same.body).to.deep.equal({ uin: other.uin, status: 'BLOCKED', changed: false });
    expect(await store.readStream(identityStreamId(other.uin))).to.have.length(2);

    const deceased = await call('POST', path, { token: 'tok-officer', body: { status: 'DECEASED', reason: 'death record from SIGA' } });
    expect(deceased.body).to.deep.equal({ uin: other.uin, status: 'DECEASED', changed: true });
    const head = await store.headPosition();
    for (const status of ['ACTIVE', 'BLOCKED', 'DEACTIVATED']) {
      const refused = await call('POST', path, { token: 'tok-officer', body: { status, reason: 'registered by mistake' } });
      expectProblem(refused, 422, 'COMMAND_REJECTED', `DECEASED → ${status}`);
      expect(refused.body.reason).to.equal('IDENTITY_DECEASED');
    }
    await unchanged(head);
    events = await store.readStream(identityStreamId(other.uin));
    expect(events.map((e) => (e.type === 'IdentityStatusChanged' ? `${e.data.from}→${e.data.to}` : e.type))).to.deep.equal([
      'IdentityCreated',
      'ACTIVE→BLOCKED',
      'BLOCKED→DECEASED',
    ]);
    expect(events.slice(1).map((e: EventEnvelope) => e.data.source)).to.deep.equal(['officer:officer-3', 'officer:officer-3']);
    await projected();
    expect((await call('GET', `/v1/identities/${other.uin}`, { token: 'tok-officer' })).body).to.include({ status: 'DECEASED' });
    // The other identity was not touched.
    expect((await call('GET', `/v1/identities/${citizen.uin}`, { token: 'tok-officer' })).body).to.include({ status: 'ACTIVE' });
  });
});
