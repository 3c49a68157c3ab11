import 'reflect-metadata';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KeyObject, webcrypto } from 'node:crypto';
import { expect } from 'chai';
import * as x509 from '@peculiar/x509';
import type { FastifyInstance } from 'fastify';
import { createLogger } from '@registo/base';
import { type EventStore, PGliteDriver, PostgresDriver, type SqlDriver, SqlEventStore } from '@registo/event-store';
import { SoftwareKeyWrapper, SubjectSealer } from '@registo/crypto';
import {
  type TrustKeys,
  type StatusServices,
  buildOcspRequest,
  createHolderCertificateIssuer,
  readOcspResponse,
  startStatusServices,
  openTrustKeys,
} from '@registo/trust';
import {
  decodeStatusList,
  fromQrPayload,
  HOLDER_PROOF_HEADER,
  signHolderProof,
  signVcJwt,
  statusBit,
  vcPayload,
} from '@registo/credentials';
import { SqlConsumer, SqlDeadLetterSink, StoreEventSource, StreamParallelConsumer } from '@registo/messaging';
import { type CredentialIssuerContext, type IdentityRecord, StatusListAllocator, credentialIssuerContext, credentialStreamId, handleCommand, identityDecider, identityStreamId, subjectIdFor, uinOfCredentialId } from '@registo/producers';
import { SqlCertificateStatusSource, SqlHolderKeyRegister, credentialStatusProjection } from '@registo/projections';
import { createCredentialIssuance } from '@registo/consumers';
import { ApiTokens, RefusalRecorder, createHttpApp, registerCredentialRoutes, registerTrustStatusRoutes } from '@registo/gateways';
import { type EventEnvelope, type SealedData, verifyEnvelope } from '@registo/schemas';
import { type ApiRequestOptions, type TestDatabase, apiRequest, createTestDatabase } from '../src/index.js';

x509.cryptoProvider.set(webcrypto);

const PUBLIC_URL = 'https://registo.test';
const TOKENS = [
  'tok-officer:officer-1:identity_officer',
  // Alice is an officer and an approver: dual control is about the person, not the token.
  'tok-alice:alice:identity_officer',
  'tok-alice-approver:alice:approver',
  'tok-approver:approver-1:approver',
  'tok-channel:channel-1:holder_channel',
  'tok-print:print-1:print_bureau',
  'tok-adj:adj-1:adjudicator',
  'tok-operator:operator-1:operator',
].join(',');

interface Answer {
  status: number;
  contentType: string;
  text: string;
  body: Record<string, unknown>;
  headers: Headers;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const record = (givenNames: string): IdentityRecord => ({
  demographics: {
    givenNames,
    surname: 'Trovoada',
    dateOfBirth: '1988-04-12',
    sex: 'F',
    nationality: 'STP',
    address: { district: 'Água Grande', locality: 'São Tomé', line: 'Rua 12' },
    placeOfBirth: 'Trindade',
    motherName: 'Maria Trovoada',
    civilRegistryNumber: 'CR-0099-12',
  },
  biometrics: [{ modality: 'FACE', position: 'FRONT' }],
  documents: [{ type: 'BIRTH_CERTIFICATE', reference: 'BC-1', sha256: 'ab'.repeat(32) }],
});
const NATIONAL_ID_CLAIMS = ['id', 'uin', 'givenNames', 'surname', 'dateOfBirth', 'sex', 'nationality', 'residency'];

/** A holder's P-256 key (a card chip's or wallet's) and its CSR. */
async function holderKeyPair(): Promise<{ csr: string; key: KeyObject }> {
  const keys = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=holder key', keys, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } });
  return { csr: csr.toString('pem'), key: KeyObject.from(keys.privateKey) };
}
async function holderCsr(): Promise<string> {
  return (await holderKeyPair()).csr;
}

for (const backend of ['postgres', 'pglite'] as const) {
  describe(`credentials on ${backend === 'postgres' ? 'PostgreSQL' : 'the embedded store (PGlite)'}: issuance, dual control, status lists, verification, print export`, function () {
    this.timeout(120_000);
    const logger = createLogger('silent');
    const dirs: string[] = [];
    let db: TestDatabase | undefined;
    let driver: SqlDriver;
    let store: EventStore;
    let sealer: SubjectSealer;
    let trust: TrustKeys;
    let foreign: TrustKeys;
    let ctx: CredentialIssuerContext;
    let holderIssuer: Awaited<ReturnType<typeof createHolderCertificateIssuer>> | undefined;
    let app: FastifyInstance;
    let url: string;
    let statusSource: SqlCertificateStatusSource;
    let statusServices: StatusServices;
    const running: Array<{ stop(): Promise<void>; done: Promise<void> }> = [];
    let uinSeq = 0;

    const refusals = new RefusalRecorder({ warn: () => undefined });
    const call = async (method: string, path: string, options: Omit<ApiRequestOptions, 'authorization'> = {}): Promise<Answer> => {
      const res = await apiRequest(url, method, path, options);
      const text = await res.text();
      let parsed: Record<string, unknown> = {};
      try {
        parsed = text && (res.headers.get('content-type') ?? '').includes('json') && !text.includes('\n{') ? (JSON.parse(text) as Record<string, unknown>) : {};
      } catch {
        parsed = {};
      }
      return { status: res.status, contentType: res.headers.get('content-type') ?? '', text, body: parsed, headers: res.headers };
    };
    const expectProblem = (a: Answer, status: number, code: string): void => {
      expect(a.status, a.text).to.equal(status);
      expect(a.contentType).to.match(/^application\/problem\+json/);
      expect(a.body.code, a.text).to.equal(code);
    };

    /** Waits until `check` holds on the read model (the projector and issuance run asynchronously). */
    const eventually = async <T>(what: string, check: () => Promise<T | undefined | null | false>): Promise<T> => {
      const deadline = Date.now() + 20_000;
      for (;;) {
        const v = await check();
        if (v) return v;
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await sleep(25);
      }
    };
    const credentialsOf = async (uin: string) => (await call('GET', `/v1/holders/${uin}/credentials`, { token: 'tok-officer' })).body.items as Array<Record<string, unknown>>;
    const credentialEvents = async (uin: string): Promise<EventEnvelope[]> => store.readStream(credentialStreamId(uin));
    const verify = async (credential: string) => call('POST', '/v1/verify-credential', { body: { credential } });
    const caughtUp = async (): Promise<void> => {
      const head = await store.headPosition();
      await eventually('the credential read model', async () => (await statusSource.revision()) >= (await lastCredentialPosition(head)));
    };
    const lastCredentialPosition = async (head: number): Promise<number> => {
      const events = await store.readAll({ fromPosition: 1, maxCount: head + 1 });
      return Math.max(0, ...events.filter((e) => e.streamId.startsWith('credential-')).map((e) => e.position));
    };

    /** A new identity, as the enrollment process creates it; returns once its VC is in the read model. */
    const newIdentity = async (givenNames = 'Ana'): Promise<{ uin: string; regId: string; vcId: string }> => {
      const uin = `29${String(Date.now() % 1e6).padStart(6, '0')}${String(++uinSeq).padStart(2, '0')}`;
      const regId = `R-${uin}`;
      const sealed = await sealer.seal(subjectIdFor(regId), record(givenNames));
      await handleCommand(store, identityDecider, identityStreamId(uin), { type: 'CreateIdentity', uin, regId, residency: 'CITIZEN', sealed, civilRegistryIndex: null });
      const items = await eventually(`the VC of ${uin}`, async () => {
        const list = await credentialsOf(uin);
        return list.length > 0 && list;
      });
      return { uin, regId, vcId: items[0]!.credentialId as string };
    };
    /** What the OCSP responder says of a serial, over HTTP, once it has seen the read model's latest revision. */
    const ocspStatus = async (serialHex: string) => {
      await statusServices.notify();
      const body = buildOcspRequest({ issuerCertificateDer: trust.certificates.identity_ca.der, serialHexes: [serialHex], nonceOctets: 16 });
      const res = await fetch(`${url}/ocsp`, { method: 'POST', headers: { 'content-type': 'application/ocsp-request' }, body });
      expect(res.status).to.equal(200);
      const answer = readOcspResponse(Buffer.from(await res.arrayBuffer()));
      expect(answer.responseStatus).to.equal('successful');
      return answer.answers[0]!.status;
    };
    /** Each holder's bound key: certified by an officer for the holder at the counter (the holder binding's first step). */
    const holderKeys = new Map<string, KeyObject>();
    const bindHolder = async (uin: string): Promise<{ key: KeyObject; answer: Answer }> => {
      const { csr, key } = await holderKeyPair();
      const answer = await call('POST', `/v1/holders/${uin}/credentials/x509`, { token: 'tok-officer', body: { csr } });
      expect(answer.status, answer.text).to.equal(201);
      holderKeys.set(uin, key);
      return { key, answer };
    };
    /** The holder channel acting for `uin`: its token plus the holder's proof for this very request. */
    const asHolder = async (method: string, path: string, uin: string, options: { key?: KeyObject; body?: unknown } = {}): Promise<Answer> => {
      const key = options.key ?? holderKeys.get(uin) ?? (await bindHolder(uin)).key;
      const proof = await signHolderProof(key, { uin, method, path });
      return call(method, path, { token: 'tok-channel', headers: { [HOLDER_PROOF_HEADER]: proof }, ...(options.body !== undefined && { body: options.body }) });
    };
    const holderCredential = async (credentialId: string): Promise<Answer> => asHolder('GET', `/v1/credentials/${credentialId}`, uinOfCredentialId(credentialId)!);

    before(async () => {
      for (let i = 0; i < 2; i++) dirs.push(await mkdtemp(join(tmpdir(), 'registo-credentials-')));
      if (backend === 'postgres') {
        db = await createTestDatabase();
        driver = new PostgresDriver({ connectionString: db.url });
      } else driver = await PGliteDriver.open();
      store = await SqlEventStore.open(driver);
      sealer = await SubjectSealer.open(driver, SoftwareKeyWrapper.generate());
      const signer = { mode: 'non_qualified' as const, pkcs11: null };
      trust = await openTrustKeys({ signer, dataDir: dirs[0]!, publicUrl: PUBLIC_URL, ensureSoftwareHierarchy: true });
      foreign = await openTrustKeys({ signer, dataDir: dirs[1]!, publicUrl: PUBLIC_URL, ensureSoftwareHierarchy: true });
      const allocator = new StatusListAllocator(driver);
      holderIssuer = await createHolderCertificateIssuer(trust, { publicUrl: PUBLIC_URL, csrWorkers: 0 });
      ctx = credentialIssuerContext(trust, { store, sealer, allocator, publicUrl: PUBLIC_URL, holderIssuer, holderKeys: new SqlHolderKeyRegister(driver) });
      await driver.migrate(credentialStatusProjection.ddl);
      statusSource = new SqlCertificateStatusSource(driver);
      app = createHttpApp(logger);
      registerCredentialRoutes(app, { store, db: driver, sealer, tokens: ApiTokens.parse(TOKENS, refusals), issuer: ctx, anchors: { identityCa: trust.certificates.identity_ca.x509, root: trust.certificates.root_ca.x509 } });
      // OCSP and CRLs as the platform wires them: over the credential read model.
      statusServices = await startStatusServices({ trust, status: statusSource, db: driver, publicUrl: PUBLIC_URL, config: { crlIntervalSeconds: 3600 } });
      await registerTrustStatusRoutes(app, { trust, status: statusSource, crl: statusServices.crl, ocsp: statusServices.ocsp });
      url = await app.listen({ port: 0, host: '127.0.0.1' });
      const issuance = createCredentialIssuance(ctx, logger);
      await issuance.migrate();
      const c1 = new StreamParallelConsumer(driver, issuance, new StoreEventSource(store), new SqlDeadLetterSink(driver), { logger, retryDelayMs: 20 });
      const c2 = new SqlConsumer(driver, credentialStatusProjection, new StoreEventSource(store), new SqlDeadLetterSink(driver), { logger });
      running.push({ stop: () => c1.stop(), done: c1.run() }, { stop: () => c2.stop(), done: c2.run() });
    });

    after(async () => {
      for (const r of running) await r.stop();
      await Promise.allSettled(running.map((r) => r.done));
      await app?.close();
      statusServices?.close();
      await holderIssuer?.close();
      await store?.close();
      await trust?.close();
      await foreign?.close();
      await db?.drop();
      for (const d of dirs) await rm(d, { recursive: true, force: true });
    });

    it('an identity gets a national-ID VC with only the allowed attributes; nothing personal outside sealed; verification says valid', async () => {
      const { uin, vcId } = await newIdentity('Ana Luísa');
      const got = await holderCredential(vcId);
      expect(got.status, got.text).to.equal(200);
      expect(got.body).to.include({ kind: 'VC_JWT', status: 'ACTIVE', signerMode: 'non_qualified', credentialType: 'NationalIdentityCredential' });
      const jwt = got.body.credential as string;
      const payload = JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as Record<string, any>;
      expect(Object.keys(payload.credentialSubject).sort()).to.deep.equal([...NATIONAL_ID_CLAIMS].sort());
      expect(payload.credentialSubject).to.include({ uin, givenNames: 'Ana Luísa', residency: 'CITIZEN' });
      expect(payload.credentialStatus.map((s: { statusPurpose: string }) => s.statusPurpose)).to.deep.equal(['revocation', 'suspension']);
      expect(payload.signerMode).to.equal('non_qualified');
      const header = JSON.parse(Buffer.from(jwt.split('.')[0]!, 'base64url').toString()) as Record<string, unknown>;
      expect(header).to.include({ alg: 'ES256', typ: 'vc+jwt' });
      expect(header.x5c).to.have.length(1);
      expect(fromQrPayload(got.body.qr as string)).to.equal(jwt);
      // Alphanumeric QR, version 40 with low error correction, holds 4,296 characters.
      expect((got.body.qr as string).length).to.be.below(4296);

      const [issued] = await credentialEvents(uin);
      expect(issued!.type).to.equal('CredentialIssued');
      const outside = JSON.stringify({ ...issued!.data, sealed: null });
      for (const personal of ['Ana', 'Trovoada', '1988-04-12', jwt.split('.')[1]!]) expect(outside).to.not.include(personal);
      expect(issued!.metadata.causationId).to.be.a('string');

      for (const presented of [jwt, got.body.qr as string]) {
        const v = await verify(presented);
        expect(v.status, v.text).to.equal(200);
        expect(v.body).to.include({ valid: true, status: 'ACTIVE', signerMode: 'non_qualified', credentialSignerMode: 'non_qualified', credentialId: vcId });
        expect(v.body.reasons).to.deep.equal([]);
      }
      // The officer's view has no credential and no attributes.
      const officer = await call('GET', `/v1/credentials/${vcId}`, { token: 'tok-officer' });
      expect(officer.body).to.not.have.any.keys('credential', 'qr');
    });

    it('dual control: a requested revocation has no effect until a different approver approves it', async () => {
      const { uin, vcId } = await newIdentity();
      const jwt = (await holderCredential(vcId)).body.credential as string;
      const asked = await call('POST', `/v1/credentials/${vcId}/status-requests`, { token: 'tok-alice', body: { action: 'REVOKE', reason: 'keyCompromise', comment: 'phone with the wallet stolen' } });
      expect(asked.status, asked.text).to.equal(202);
      expect(asked.body).to.include({ state: 'PENDING', requestedBy: 'alice', signerMode: 'non_qualified' });
      const requestId = asked.body.requestId as string;
      await caughtUp();
      expect((await verify(jwt)).body).to.include({ valid: true, status: 'ACTIVE' });
      const pending = await call('GET', '/v1/credential-status-requests', { token: 'tok-approver' });
      expect((pending.body.items as Array<{ requestId: string }>).map((r) => r.requestId)).to.include(requestId);

      const head = await store.headPosition();
      const dualControlRefusals = refusals.snapshot().byReason['DUAL_CONTROL_VIOLATION:DUAL_CONTROL'] ?? 0;
      expectProblem(await call('POST', `/v1/credential-status-requests/${requestId}/approve`, { token: 'tok-alice-approver', body: {} }), 403, 'DUAL_CONTROL_VIOLATION');
      expect(refusals.snapshot().byReason['DUAL_CONTROL_VIOLATION:DUAL_CONTROL']).to.equal(dualControlRefusals + 1);
      expectProblem(await call('POST', `/v1/credential-status-requests/${requestId}/approve`, { token: 'tok-officer', body: {} }), 403, 'FORBIDDEN');
      expectProblem(await call('POST', `/v1/credential-status-requests/${requestId}/approve`, { body: {} }), 401, 'UNAUTHENTICATED');
      expect(await store.headPosition()).to.equal(head);
      expect((await verify(jwt)).body).to.include({ valid: true, status: 'ACTIVE' });

      expectProblem(await call('POST', `/v1/credential-status-requests/${requestId}/approve`, { token: 'tok-approver', body: { comment: 7 } }), 400, 'REQUEST_INVALID');
      expectProblem(await call('POST', `/v1/credential-status-requests/${requestId}/approve`, { token: 'tok-approver', body: { note: 'x' } }), 400, 'REQUEST_INVALID');
      const approved = await call('POST', `/v1/credential-status-requests/${requestId}/approve`, { token: 'tok-approver', body: { comment: 'police report seen' } });
      expect(approved.status, approved.text).to.equal(200);
      expect(approved.body).to.include({ state: 'APPROVED', requestedBy: 'alice', decidedBy: 'approver-1', credentialStatus: 'REVOKED' });
      await caughtUp();
      const v = await verify(jwt);
      expect(v.body).to.include({ valid: false, status: 'REVOKED' });
      expect((v.body.reasons as Array<{ code: string }>).map((r) => r.code)).to.deep.equal(['REVOKED']);
      const revoked = (await credentialEvents(uin)).find((e) => e.type === 'CredentialRevoked')!;
      expect(revoked.data).to.include({ reason: 'keyCompromise', source: 'DUAL_CONTROL', requestedBy: 'alice', approvedBy: 'approver-1' });
      expect(revoked.metadata.actor).to.deep.equal({ id: 'approver-1', role: 'approver' });

      // The signed status list shows the bit to anyone.
      const index = Number((await holderCredential(vcId)).body.statusList && ((await holderCredential(vcId)).body.statusList as { index: number }).index);
      const list = await call('GET', '/v1/status-lists/1-revocation');
      expect(list.status).to.equal(200);
      expect(list.contentType).to.match(/^application\/vc\+jwt/);
      expect(list.headers.get('registo-signer-mode')).to.equal('non_qualified');
      const subject = JSON.parse(Buffer.from(list.text.split('.')[1]!, 'base64url').toString()).credentialSubject;
      expect(subject).to.include({ type: 'BitstringStatusList', statusPurpose: 'revocation' });
      expect(statusBit(decodeStatusList(subject.encodedList), index)).to.equal(true);
      const suspensions = JSON.parse(Buffer.from((await call('GET', '/v1/status-lists/1-suspension')).text.split('.')[1]!, 'base64url').toString()).credentialSubject;
      expect(statusBit(decodeStatusList(suspensions.encodedList), index)).to.equal(false);
      expectProblem(await call('GET', '/v1/status-lists/99-revocation'), 404, 'NOT_FOUND');
      expectProblem(await call('GET', '/v1/status-lists/nonsense'), 404, 'NOT_FOUND');

      // Revoked is final; a decided request cannot be decided again.
      expectProblem(await call('POST', `/v1/credentials/${vcId}/status-requests`, { token: 'tok-officer', body: { action: 'REINSTATE', comment: 'found it' } }), 422, 'COMMAND_REJECTED');
      expectProblem(await call('POST', `/v1/credential-status-requests/${requestId}/reject`, { token: 'tok-approver', body: { comment: 'late' } }), 422, 'COMMAND_REJECTED');
    });

    it('an X.509 credential from a holder CSR: OCSP-side status stays good on an unapproved suspension, changes when approved', async () => {
      const { uin } = await newIdentity();
      const { csr, key } = await holderKeyPair();
      // In person: an officer submits the holder's first CSR, which binds the key to the holder.
      const issued = await call('POST', `/v1/holders/${uin}/credentials/x509`, { token: 'tok-officer', body: { csr } });
      expect(issued.status, issued.text).to.equal(201);
      expect(issued.body).to.include({ kind: 'X509', signerMode: 'non_qualified', issued: true });
      const serialHex = issued.body.serialHex as string;
      const cert = new x509.X509Certificate(issued.body.certificatePem as string);
      expect(await cert.verify({ publicKey: trust.certificates.identity_ca.x509.publicKey.export({ type: 'spki', format: 'der' }) })).to.equal(true);
      // The holder channel, for the holder whose bound key signs the proof.
      const again = await asHolder('POST', `/v1/holders/${uin}/credentials/x509`, uin, { key, body: { csr } });
      expect(again.status, again.text).to.equal(200);
      expect(again.body).to.include({ serialHex, issued: false });

      await caughtUp();
      expect(await statusSource.statusOf(serialHex)).to.deep.equal({ status: 'good' });
      expect(await statusSource.statusOf('00ff00ff')).to.deep.equal({ status: 'unknown' });
      // The same key for another person: refused, and the answer does not say whose key it is.
      const { uin: otherUin } = await newIdentity();
      const headBefore = await store.headPosition();
      const stolen = await call('POST', `/v1/holders/${otherUin}/credentials/x509`, { token: 'tok-officer', body: { csr } });
      expectProblem(stolen, 422, 'COMMAND_REJECTED');
      expect(stolen.body.reason).to.equal('HOLDER_KEY_CERTIFIED_FOR_ANOTHER_UIN');
      expect(stolen.text).to.not.include(uin);
      expect(await store.headPosition()).to.equal(headBefore);
      const credentialId = issued.body.credentialId as string;
      const asked = await call('POST', `/v1/credentials/${credentialId}/status-requests`, { token: 'tok-officer', body: { action: 'SUSPEND', comment: 'card reported lost' } });
      expect(asked.status).to.equal(202);
      await caughtUp();
      const before = await statusSource.revision();
      expect(await statusSource.statusOf(serialHex)).to.deep.equal({ status: 'good' });
      expect((await statusSource.revoked()).map((r) => r.serialHex)).to.not.include(serialHex);
      // The OCSP responder agrees: a request nobody approved has no effect.
      expect(await ocspStatus(serialHex)).to.deep.equal({ status: 'good' });

      // No body at all is fine: the comment is optional.
      expect((await call('POST', `/v1/credential-status-requests/${asked.body.requestId}/approve`, { token: 'tok-approver' })).status).to.equal(200);
      await caughtUp();
      // A suspended key (a card reported lost) cannot act for the holder.
      expectProblem(await asHolder('GET', `/v1/holders/${uin}/credentials`, uin, { key }), 403, 'HOLDER_NOT_BOUND');
      const held = await statusSource.statusOf(serialHex.toUpperCase());
      expect(held).to.include({ status: 'revoked', reason: 'certificateHold' });
      expect(await ocspStatus(serialHex)).to.include({ status: 'revoked', reason: 'certificateHold' });
      expect(await statusSource.revision()).to.be.greaterThan(before);
      const changes = await statusSource.changesSince(before);
      expect(changes.map((c) => [c.serialHex, c.status, c.reason])).to.deep.equal([[serialHex, 'revoked', 'certificateHold']]);

      const back = await call('POST', `/v1/credentials/${credentialId}/status-requests`, { token: 'tok-officer', body: { action: 'REINSTATE', comment: 'card found' } });
      expect((await call('POST', `/v1/credential-status-requests/${back.body.requestId}/approve`, { token: 'tok-alice-approver' , body: {} })).status).to.equal(200);
      await caughtUp();
      expect(await statusSource.statusOf(serialHex)).to.deep.equal({ status: 'good' });
      expect((await statusSource.changesSince(before)).map((c) => c.status)).to.deep.equal(['revoked', 'good']);

      // Revoked for key compromise: the same key gets no certificate again.
      const revoke = await call('POST', `/v1/credentials/${credentialId}/status-requests`, { token: 'tok-officer', body: { action: 'REVOKE', reason: 'keyCompromise', comment: 'chip cloned' } });
      expect((await call('POST', `/v1/credential-status-requests/${revoke.body.requestId}/approve`, { token: 'tok-approver' })).status).to.equal(200);
      const refused = await call('POST', `/v1/holders/${uin}/credentials/x509`, { token: 'tok-officer', body: { csr } });
      expectProblem(refused, 422, 'COMMAND_REJECTED');
      expectProblem(await asHolder('POST', `/v1/holders/${uin}/credentials/x509`, uin, { key, body: { csr: await holderCsr() } }), 403, 'HOLDER_NOT_BOUND');
      expect(refused.body.reason).to.equal('CREDENTIAL_REVOKED');
      await caughtUp();
      expect(await statusSource.statusOf(serialHex)).to.include({ status: 'revoked', reason: 'keyCompromise' });
      expect(await ocspStatus(serialHex)).to.include({ status: 'revoked', reason: 'keyCompromise' });
      const crl = await fetch(`${url}/crl/identity-ca.crl`);
      expect(crl.status).to.equal(200);
    });

    it('bad CSRs get the holder issuer\'s typed refusals and issue nothing', async () => {
      const { uin } = await newIdentity();
      const head = await store.headPosition();
      const pem = await holderCsr();
      const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
      der[der.length - 3]! ^= 0xff; // inside the signature
      const rsaKeys = await webcrypto.subtle.generateKey({ name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, true, ['sign', 'verify']);
      const rsa = await x509.Pkcs10CertificateRequestGenerator.create({ name: 'CN=rsa', keys: rsaKeys, signingAlgorithm: { name: 'RSASSA-PKCS1-v1_5' } });
      const refused: Array<[string, number, string]> = [
        ['not a csr', 400, 'CSR_MALFORMED'],
        ['AAAA', 400, 'CSR_MALFORMED'],
        [der.toString('base64'), 400, 'CSR_SIGNATURE_INVALID'],
        [rsa.toString('pem'), 422, 'CSR_KEY_UNSUPPORTED'],
      ];
      for (const [csr, status, code] of refused) expectProblem(await call('POST', `/v1/holders/${uin}/credentials/x509`, { token: 'tok-officer', body: { csr } }), status, code);
      expectProblem(await call('POST', `/v1/holders/${uin}/credentials/x509`, { token: 'tok-officer', body: { csr: pem, extra: 1 } }), 400, 'REQUEST_INVALID');
      expectProblem(await call('POST', `/v1/holders/${uin}/credentials/x509`, { token: 'tok-adj', body: { csr: pem } }), 403, 'FORBIDDEN');
      expectProblem(await call('POST', `/v1/holders/${uin}/credentials/x509`, { token: 'tok-channel', body: { csr: pem } }), 401, 'HOLDER_PROOF_REQUIRED');
      expectProblem(await call('POST', '/v1/holders/2999999999/credentials/x509', { token: 'tok-officer', body: { csr: pem } }), 404, 'NOT_FOUND');
      expect(await store.headPosition()).to.equal(head);
    });

    it('identity DECEASED revokes every credential (cessationOfOperation); redelivering every identity event issues and revokes nothing twice', async () => {
      const { uin, vcId } = await newIdentity();
      const cert = (await bindHolder(uin)).answer;
      const jwt = (await holderCredential(vcId)).body.credential as string;
      await handleCommand(store, identityDecider, identityStreamId(uin), { type: 'ChangeIdentityStatus', uin, to: 'DECEASED', reason: 'SIGA death record', source: 'SIGA' });
      await eventually('the revocations', async () => (await credentialsOf(uin)).every((c) => c.status === 'REVOKED'));
      expect(await statusSource.statusOf(cert.body.serialHex as string)).to.include({ status: 'revoked', reason: 'cessationOfOperation' });
      expect((await verify(jwt)).body).to.include({ valid: false, status: 'REVOKED' });
      const revocations = (await credentialEvents(uin)).filter((e) => e.type === 'CredentialRevoked');
      expect(revocations.map((e) => e.data.source)).to.deep.equal(['IDENTITY_STATUS', 'IDENTITY_STATUS']);
      // No new credential for a deceased holder.
      expectProblem(await call('POST', `/v1/holders/${uin}/credentials/x509`, { token: 'tok-officer', body: { csr: await holderCsr() } }), 422, 'COMMAND_REJECTED');
      // Nor does the holder channel act for them any more: the bound key's certificate is revoked.
      expectProblem(await asHolder('GET', `/v1/holders/${uin}/credentials`, uin), 403, 'HOLDER_NOT_BOUND');

      const before = (await credentialEvents(uin)).length;
      const handler = createCredentialIssuance(ctx, logger);
      for (const e of await store.readStream(identityStreamId(uin))) await handler.handle(e, 2);
      expect((await credentialEvents(uin)).length).to.equal(before);
    });

    it('the same identity event delivered several times at once (a rebalance, a crash mid-issuance) issues one credential', async () => {
      const uin = `28${String(Date.now() % 1e6).padStart(6, '0')}${String(++uinSeq).padStart(2, '0')}`;
      const regId = `R-${uin}`;
      const sealed = await sealer.seal(subjectIdFor(regId), record('Eva'));
      const { events } = await handleCommand(store, identityDecider, identityStreamId(uin), { type: 'CreateIdentity', uin, regId, residency: 'CITIZEN', sealed, civilRegistryIndex: null });
      const handler = createCredentialIssuance(ctx, logger);
      // Racing the running consumer too.
      await Promise.all([1, 2, 3, 4].map((n) => handler.handle(events[0]!, n)));
      await eventually('the VC', async () => (await credentialsOf(uin)).length > 0);
      await caughtUp();
      const issued = (await credentialEvents(uin)).filter((e) => e.type === 'CredentialIssued');
      expect(issued).to.have.length(1);
      expect((await credentialsOf(uin)).map((c) => c.credentialId)).to.deep.equal([issued[0]!.data.credentialId]);
    });

    it('an update issues a new VC that supersedes the old one', async () => {
      const { uin, regId, vcId } = await newIdentity('Rita');
      const sealed = await sealer.seal(subjectIdFor(regId), record('Rita Maria'));
      await handleCommand(store, identityDecider, identityStreamId(uin), { type: 'UpdateIdentity', uin, regId: `${regId}-U`, changedFields: ['givenNames'], sealed });
      const items = await eventually('the new VC', async () => {
        const list = await credentialsOf(uin);
        return list.length === 2 && list.find((c) => c.credentialId === vcId)?.status === 'REVOKED' && list;
      });
      const fresh = items.find((c) => c.credentialId !== vcId)!;
      expect(fresh.status).to.equal('ACTIVE');
      expect(items.find((c) => c.credentialId === vcId)).to.include({ reason: 'superseded' });
      const jwt = (await holderCredential(fresh.credentialId as string)).body.credential as string;
      expect((await verify(jwt)).body).to.include({ valid: true });
    });

    it('erasure leaves the sealed credential unreadable, ends the holder binding, prints nothing, and the event still verifies', async () => {
      const { uin, regId, vcId } = await newIdentity();
      const jwt = (await holderCredential(vcId)).body.credential as string;
      const orders = await call('GET', '/v1/print-orders?after=0&limit=1000', { token: 'tok-print' });
      expect(orders.text).to.include(vcId);
      await sealer.destroy(subjectIdFor(regId));
      await handleCommand(store, identityDecider, identityStreamId(uin), { type: 'DestroySubjectKey', uin, subjectId: subjectIdFor(regId), legalBasis: 'court order', orderRef: 'ORD-7' });
      // Erasure revokes every credential, the bound key's certificate included: nobody acts for the holder any more.
      await eventually('the revocations', async () => (await credentialsOf(uin)).every((c) => c.status === 'REVOKED'));
      expectProblem(await holderCredential(vcId), 403, 'HOLDER_NOT_BOUND');
      const [issued] = await credentialEvents(uin);
      let code = 'opened';
      try {
        await sealer.open(issued!.data.sealed as SealedData);
      } catch (e) {
        code = (e as { code: string }).code;
      }
      expect(code).to.equal('SUBJECT_KEY_DESTROYED');
      expect(() => verifyEnvelope(issued!)).to.not.throw();
      expect((await call('GET', '/v1/print-orders?after=0&limit=1000', { token: 'tok-print' })).text).to.not.include(vcId);
      // A copy the holder kept no longer verifies: erasure revokes (cessationOfOperation).
      await eventually('the erasure revocation', async () => (await credentialsOf(uin)).every((c) => c.status === 'REVOKED'));
      const revoked = (await credentialEvents(uin)).find((e) => e.type === 'CredentialRevoked')!;
      expect(revoked.data).to.include({ reason: 'cessationOfOperation', source: 'IDENTITY_STATUS', identityStatus: 'ERASED' });
      expect((await verify(jwt)).body).to.include({ valid: false, status: 'REVOKED' });
    });

    it('print orders: NDJSON since a cursor, only the agreed attributes, resumable', async () => {
      const first = await newIdentity('Joana');
      const all = await call('GET', '/v1/print-orders?after=0&limit=1000', { token: 'tok-print' });
      expect(all.status, all.text).to.equal(200);
      expect(all.contentType).to.match(/^application\/x-ndjson/);
      const lines = all.text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      const mine = lines.find((l) => l.credentialId === first.vcId)!;
      expect(Object.keys(mine).sort()).to.deep.equal(['cursor', 'credentialId', 'credentialType', 'uin', 'givenNames', 'surname', 'dateOfBirth', 'sex', 'nationality', 'issuedAt', 'expiresAt', 'qr', 'signerMode'].sort());
      expect(mine).to.include({ givenNames: 'Joana', uin: first.uin });
      expect(fromQrPayload(mine.qr as string).split('.')).to.have.length(3);
      const cursor = Number(all.headers.get('registo-next-cursor'));
      const second = await newIdentity('Inês');
      const next = await call('GET', `/v1/print-orders?after=${cursor}`, { token: 'tok-print' });
      const ids = next.text.trim().split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { credentialId: string }).credentialId);
      expect(ids).to.deep.equal([second.vcId]);
      expectProblem(await call('GET', '/v1/print-orders', { token: 'tok-channel' }), 403, 'FORBIDDEN');
      expectProblem(await call('GET', '/v1/print-orders'), 401, 'UNAUTHENTICATED');
      expectProblem(await call('GET', '/v1/print-orders?after=-1', { token: 'tok-print' }), 400, 'REQUEST_INVALID');
    });

    it('verification of bad inputs: typed 400s for what is not a credential, reasons for what fails, never a 5xx', async () => {
      const { vcId } = await newIdentity();
      const jwt = (await holderCredential(vcId)).body.credential as string;
      for (const garbage of ['', 'abc', 'a.b.c', 'eyJhbGciOiJFUzI1NiJ9.bm90IGpzb24.c2ln', 'x'.repeat(70_000)]) {
        const a = await verify(garbage);
        expect(a.status, garbage.slice(0, 20)).to.equal(400);
        expect(a.body.code).to.be.oneOf(['CREDENTIAL_MALFORMED', 'REQUEST_INVALID']);
      }
      for (const qr of ['RGV1:', 'RGV1:%%%%', 'RGV1:abc', 'RGV1:0000000']) expectProblem(await verify(qr), 400, 'CREDENTIAL_QR_INVALID');
      expectProblem(await call('POST', '/v1/verify-credential', { raw: '{"credential": 1}' }), 400, 'REQUEST_INVALID');
      expectProblem(await call('POST', '/v1/verify-credential', { raw: '{not json' }), 400, 'REQUEST_INVALID');
      expectProblem(await call('POST', '/v1/verify-credential', { body: { credential: jwt, more: true } }), 400, 'REQUEST_INVALID');

      const [h, p, s] = jwt.split('.');
      const forged = Buffer.from(Buffer.from(p!, 'base64url').toString().replace(/"surname":"[^"]+"/, '"surname":"Forged"')).toString('base64url');
      const tampered = await verify(`${h}.${forged}.${s}`);
      expect(tampered.status).to.equal(200);
      expect(tampered.body).to.include({ valid: false, status: 'UNKNOWN', credentialSubject: null });
      expect((tampered.body.reasons as Array<{ code: string }>).map((r) => r.code)).to.deep.equal(['SIGNATURE_INVALID']);

      const payload = JSON.parse(Buffer.from(p!, 'base64url').toString()) as Record<string, unknown>;
      const alien = await signVcJwt({ signer: foreign.signers.identity_ca, certificateDer: foreign.certificates.identity_ca.der, chainDer: [foreign.certificates.root_ca.der] }, payload);
      const a = await verify(alien);
      expect(a.body).to.include({ valid: false });
      expect((a.body.reasons as Array<{ code: string }>).map((r) => r.code)).to.deep.equal(['ISSUER_UNTRUSTED']);

      const expired = await signVcJwt(ctx.vcKey, vcPayload({ credentialId: 'nid-2900000000-r0', credentialType: 'NationalIdentityCredential', publicUrl: PUBLIC_URL, issuerName: 'x', subjectId: 'urn:registo:uin:2900000000', claims: {}, issuedAt: new Date(Date.now() - 2e9), expiresAt: new Date(Date.now() - 1e9), signerMode: 'non_qualified', credentialStatus: [] }));
      const e = await verify(expired);
      expect((e.body.reasons as Array<{ code: string }>).map((r) => r.code)).to.deep.equal(['EXPIRED', 'STATUS_UNAVAILABLE']);
      expect(e.body.valid).to.equal(false);
    });

    it('holder binding: the holder channel acts for one holder at a time, with a proof signed by a key certified to that holder', async () => {
      const a = await newIdentity('Alda');
      const b = await newIdentity('Bento');
      const { key: keyA } = await bindHolder(a.uin);
      const { key: keyB } = await bindHolder(b.uin);
      const before = refusals.snapshot();
      const refused = (key: string) => (refusals.snapshot().byReason[key] ?? 0) - (before.byReason[key] ?? 0);

      // The holder's own key: its list and its credential, with the credential itself.
      const listA = await asHolder('GET', `/v1/holders/${a.uin}/credentials`, a.uin, { key: keyA });
      expect(listA.status, listA.text).to.equal(200);
      expect((listA.body.items as Array<{ uin: string }>).map((c) => c.uin)).to.deep.equal([a.uin, a.uin]);
      expect((await asHolder('GET', `/v1/credentials/${a.vcId}`, a.uin, { key: keyA })).body.credential).to.be.a('string');

      // The channel's token alone acts for nobody.
      expectProblem(await call('GET', `/v1/holders/${a.uin}/credentials`, { token: 'tok-channel' }), 401, 'HOLDER_PROOF_REQUIRED');
      expectProblem(await call('GET', `/v1/credentials/${a.vcId}`, { token: 'tok-channel' }), 401, 'HOLDER_PROOF_REQUIRED');
      // Holder A's key does not act for B, whether the proof names B or A.
      expectProblem(await asHolder('GET', `/v1/holders/${b.uin}/credentials`, b.uin, { key: keyA }), 403, 'HOLDER_NOT_BOUND');
      expectProblem(await asHolder('GET', `/v1/credentials/${b.vcId}`, b.uin, { key: keyA }), 403, 'HOLDER_NOT_BOUND');
      const proofForA = await signHolderProof(keyA, { uin: a.uin, method: 'GET', path: `/v1/credentials/${b.vcId}` });
      expectProblem(await call('GET', `/v1/credentials/${b.vcId}`, { token: 'tok-channel', headers: { [HOLDER_PROOF_HEADER]: proofForA } }), 403, 'HOLDER_NOT_BOUND');
      // A "UIN" no holder can have: not bound, and no stream read for it.
      for (const odd of ['abc', '1'.repeat(21)]) expectProblem(await asHolder('GET', `/v1/holders/${odd}/credentials`, odd, { key: keyA }), 403, 'HOLDER_NOT_BOUND');
      // A key nobody certified (a CSR's own key proves possession, not who is present).
      const stranger = await holderKeyPair();
      const head = await store.headPosition();
      expectProblem(await asHolder('POST', `/v1/holders/${b.uin}/credentials/x509`, b.uin, { key: stranger.key, body: { csr: stranger.csr } }), 403, 'HOLDER_NOT_BOUND');
      expect(await store.headPosition()).to.equal(head);

      // A proof is for one request, once, now.
      const path = `/v1/holders/${a.uin}/credentials`;
      const once = await signHolderProof(keyA, { uin: a.uin, method: 'GET', path });
      expect((await call('GET', path, { token: 'tok-channel', headers: { [HOLDER_PROOF_HEADER]: once } })).status).to.equal(200);
      expectProblem(await call('GET', path, { token: 'tok-channel', headers: { [HOLDER_PROOF_HEADER]: once } }), 401, 'HOLDER_PROOF_INVALID');
      const otherPath = await signHolderProof(keyA, { uin: a.uin, method: 'GET', path: `/v1/credentials/${a.vcId}` });
      expectProblem(await call('GET', path, { token: 'tok-channel', headers: { [HOLDER_PROOF_HEADER]: otherPath } }), 401, 'HOLDER_PROOF_INVALID');
      const otherMethod = await signHolderProof(keyA, { uin: a.uin, method: 'POST', path });
      expectProblem(await call('GET', path, { token: 'tok-channel', headers: { [HOLDER_PROOF_HEADER]: otherMethod } }), 401, 'HOLDER_PROOF_INVALID');
      const stale = await signHolderProof(keyA, { uin: a.uin, method: 'GET', path }, new Date(Date.now() - 11 * 60_000));
      expectProblem(await call('GET', path, { token: 'tok-channel', headers: { [HOLDER_PROOF_HEADER]: stale } }), 401, 'HOLDER_PROOF_INVALID');
      const [h, p, sig] = (await signHolderProof(keyA, { uin: a.uin, method: 'GET', path })).split('.');
      const forged = `${h}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p!, 'base64url').toString()), sub: b.uin })).toString('base64url')}.${sig}`;
      expectProblem(await call('GET', `/v1/holders/${b.uin}/credentials`, { token: 'tok-channel', headers: { [HOLDER_PROOF_HEADER]: forged } }), 401, 'HOLDER_PROOF_INVALID');
      expectProblem(await call('GET', path, { token: 'tok-channel', headers: { [HOLDER_PROOF_HEADER]: 'not a jwt' } }), 401, 'HOLDER_PROOF_INVALID');
      // The proof does not replace the channel's token.
      expectProblem(await call('GET', path, { headers: { [HOLDER_PROOF_HEADER]: await signHolderProof(keyA, { uin: a.uin, method: 'GET', path }) } }), 401, 'UNAUTHENTICATED');

      // A bound key certifies a further key for its own holder (a second device), which is then bound too.
      const second = await holderKeyPair();
      const added = await asHolder('POST', `/v1/holders/${a.uin}/credentials/x509`, a.uin, { key: keyA, body: { csr: second.csr } });
      expect(added.status, added.text).to.equal(201);
      expect(added.body.credentialId).to.match(new RegExp(`^x509-${a.uin}-`));
      expect((await asHolder('GET', `/v1/holders/${a.uin}/credentials`, a.uin, { key: second.key })).status).to.equal(200);
      expectProblem(await asHolder('GET', `/v1/holders/${b.uin}/credentials`, b.uin, { key: second.key }), 403, 'HOLDER_NOT_BOUND');
      expect((await asHolder('GET', `/v1/holders/${b.uin}/credentials`, b.uin, { key: keyB })).status).to.equal(200);

      // Every refusal above was counted, by reason.
      expect([refused('HOLDER_PROOF_REQUIRED:HOLDER_PROOF_MISSING'), refused('HOLDER_NOT_BOUND:HOLDER_NOT_BOUND'), refused('HOLDER_PROOF_INVALID:HOLDER_PROOF_INVALID'), refused('UNAUTHENTICATED:NO_BEARER_TOKEN')]).to.deep.equal([2, 7, 6, 1]);
    });

    it('roles and unknown ids: 401, 403, 404 like the other APIs', async () => {
      const { uin, vcId } = await newIdentity();
      expectProblem(await call('GET', `/v1/holders/${uin}/credentials`), 401, 'UNAUTHENTICATED');
      expectProblem(await call('GET', `/v1/holders/${uin}/credentials`, { token: 'tok-adj' }), 403, 'FORBIDDEN');
      // An unknown UIN: 404 to staff; the holder channel is refused before anything is read.
      for (const token of ['tok-officer', 'tok-approver', 'tok-operator']) expectProblem(await call('GET', '/v1/holders/2999999999/credentials', { token }), 404, 'NOT_FOUND');
      expectProblem(await asHolder('GET', '/v1/holders/2999999999/credentials', '2999999999', { key: (await holderKeyPair()).key }), 403, 'HOLDER_NOT_BOUND');
      expectProblem(await call('GET', '/v1/credentials/nid-2999999999-r0', { token: 'tok-officer' }), 404, 'NOT_FOUND');
      expectProblem(await call('POST', '/v1/credentials/nid-2999999999-r0/status-requests', { token: 'tok-officer', body: { action: 'SUSPEND', comment: 'why not' } }), 404, 'NOT_FOUND');
      expectProblem(await call('POST', '/v1/credentials/garbage/status-requests', { token: 'tok-officer', body: { action: 'SUSPEND', comment: 'why not' } }), 404, 'NOT_FOUND');
      expectProblem(await call('POST', `/v1/credentials/${vcId}/status-requests`, { token: 'tok-channel', body: { action: 'SUSPEND', comment: 'why not' } }), 403, 'FORBIDDEN');
      expectProblem(await call('POST', `/v1/credentials/${vcId}/status-requests`, { token: 'tok-officer', body: { action: 'REVOKE', reason: 'certificateHold', comment: 'hold' } }), 400, 'REQUEST_INVALID');
      expectProblem(await call('POST', `/v1/credentials/${vcId}/status-requests`, { token: 'tok-officer', body: { action: 'REVOKE', comment: 'no reason given' } }), 422, 'COMMAND_REJECTED');
      expectProblem(await call('POST', `/v1/credential-status-requests/req-${uin}-nope/approve`, { token: 'tok-approver', body: {} }), 404, 'NOT_FOUND');
      expectProblem(await call('POST', '/v1/credential-status-requests/whatever/approve', { token: 'tok-approver', body: {} }), 404, 'NOT_FOUND');
      // A rejected request changes nothing.
      const asked = await call('POST', `/v1/credentials/${vcId}/status-requests`, { token: 'tok-officer', body: { action: 'SUSPEND', comment: 'unsure' } });
      const rejected = await call('POST', `/v1/credential-status-requests/${asked.body.requestId}/reject`, { token: 'tok-approver', body: { comment: 'no grounds' } });
      expect(rejected.body).to.include({ state: 'REJECTED', credentialStatus: 'ACTIVE' });
    });
  });
}
