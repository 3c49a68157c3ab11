import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { OCSPRequest, id_pkix_ocsp_nonce } from '@peculiar/asn1-ocsp';
import { expect } from 'chai';
import type { FastifyInstance } from 'fastify';
import { createLogger } from '@registo/base';
import { type EventStore, PGliteDriver, PostgresDriver, type SqlDriver, SqlEventStore } from '@registo/event-store';
import type { SignerConfig } from '@registo/hsm';
import {
  KeyUsageFlags,
  type StatusServices,
  type TrustKeys,
  issueCertificate,
  openTrustKeys,
  performKeyCeremony,
  startStatusServices,
  subjectNameOf,
  toPem,
  trustKey,
} from '@registo/trust';
import { createHttpApp, registerTrustStatusRoutes } from '@registo/gateways';
import { type CredentialStatusFixture, openCredentialStatusFixture } from '../src/support/credential-status-fixture.js';
import { type TestDatabase, createTestDatabase } from '../src/support/postgres.js';
import { run } from '../src/support/processes.js';
import { testSoftHsm } from '../src/support/softhsm.js';
import { until } from '../src/support/until.js';

/*
 * The status services over HTTP, checked with tools no one here wrote: `openssl ocsp` asks the
 * responder (POST and GET, with and without a nonce) and verifies its answers against the root;
 * `openssl verify -crl_check` checks a holder certificate against the CRLs the routes serve.
 *
 * They answer from the source production wires: the `credential_status` read model
 * (SqlCertificateStatusSource), fed as production feeds it — credential commands appended to
 * the event store (issued; status changes requested by one person, approved by another) and
 * projected by the running `credential_status` consumer. The software suite runs on the
 * embedded store (PGlite), the SoftHSM2 suite on PostgreSQL.
 */

const PUBLIC_URL = 'http://127.0.0.1:8080';


/** The OCSPResponseStatus of a DER OCSPResponse (its ENUMERATED comes first). */
function responseStatus(der: Buffer): number {
  expect(der[0], 'an OCSPResponse SEQUENCE').to.equal(0x30);
  const at = der[1]! < 0x80 ? 2 : 2 + (der[1]! & 0x7f);
  expect(der[at], 'ENUMERATED responseStatus').to.equal(0x0a);
  return der[at + 2]!;
}

/** The CRL Number and (delta CRLs) Delta CRL Indicator as `openssl crl -text` prints them. */
function crlNumbersOf(text: string): { number: number; deltaOf: number | null } {
  const number = /X509v3 CRL Number:\s*\n\s*(\d+)/.exec(text)?.[1];
  const deltaOf = /X509v3 Delta CRL Indicator: critical\s*\n\s*(\d+)/.exec(text)?.[1];
  expect(number, text).to.be.a('string');
  return { number: Number(number), deltaOf: deltaOf === undefined ? null : Number(deltaOf) };
}

interface Holder {
  file: string;
  serialHex: string;
}

type Backend = 'pglite' | 'postgres';

/** The SQL driver of one backend; `drop` removes the test database afterwards (PostgreSQL). */
async function openBackend(backend: Backend): Promise<{ driver: SqlDriver; database: TestDatabase | null }> {
  if (backend === 'pglite') return { driver: await PGliteDriver.open(), database: null };
  const database = await createTestDatabase();
  return { driver: new PostgresDriver({ connectionString: database.url }), database };
}

function statusSuite(name: string, backend: Backend, open: (dataDir: string) => Promise<TrustKeys>): void {
  describe(`status services over HTTP: ${name}, credential_status on ${backend}`, function () {
    this.timeout(120_000);
    let dir: string;
    let trust: TrustKeys;
    let status: CredentialStatusFixture;
    let database: TestDatabase | null = null;
    let store: EventStore;
    let services: StatusServices;
    let app: FastifyInstance;
    let base: string;
    let root: string;
    let ca: string;
    const holders: Record<'revoked' | 'held' | 'stranger' | 'late', Holder> = {} as never;

    async function holder(label: string): Promise<Holder> {
      const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const cert = await issueCertificate({
        issuerSigner: trust.signers.identity_ca,
        issuerName: subjectNameOf(trustKey('identity_ca'), trust.mode),
        subjectName: [['O', 'Registo'], ['CN', `Holder ${label}`]],
        subjectPublicKeySpki: publicKey.export({ type: 'spki', format: 'der' }),
        notBefore: new Date(Date.now() - 60_000),
        notAfter: new Date(Date.now() + 86_400_000),
        ca: false,
        keyUsage: KeyUsageFlags.digitalSignature,
        crlDistributionPoints: [`${PUBLIC_URL}/crl/identity-ca.crl`],
        ocspUrls: [`${PUBLIC_URL}/ocsp`],
      });
      const file = join(dir, `${label}.pem`);
      writeFileSync(file, cert.pem);
      return { file, serialHex: cert.serialNumber };
    }

    const ocsp = (h: Holder, ...extra: string[]) =>
      run('openssl', ['ocsp', ...extra, '-issuer', ca, '-cert', h.file, '-url', `${base}/ocsp`, '-CAfile', root]);

    /** The current CRLs, as PEM files for openssl. */
    async function fetchCrls(): Promise<{ full: string; delta: string; root: string; fullNumber: number }> {
      const out: Record<string, string> = {};
      let fullNumber = 0;
      for (const n of ['identity-ca', 'identity-ca-delta', 'root-ca']) {
        const res = await fetch(`${base}/crl/${n}.crl`);
        expect(res.status).to.equal(200);
        expect(res.headers.get('content-type')).to.equal('application/pkix-crl');
        const der = Buffer.from(await res.arrayBuffer());
        out[n] = join(dir, `${n}.crl.pem`);
        writeFileSync(out[n]!, toPem(der, 'X509 CRL'));
        if (n === 'identity-ca') fullNumber = Number(/"identity-ca-(\d+)"/.exec(res.headers.get('etag') ?? '')?.[1]);
      }
      return { full: out['identity-ca']!, delta: out['identity-ca-delta']!, root: out['root-ca']!, fullNumber };
    }

    const verifyWithCrls = async (h: Holder) => {
      const crls = await fetchCrls();
      return run('openssl', ['verify', '-crl_check_all', '-CAfile', root, '-untrusted', ca, '-CRLfile', crls.full, '-CRLfile', crls.root, h.file]);
    };

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'registo-status-e2e-'));
      trust = await open(dir);
      root = join(trust.trustDir, 'root-ca.pem');
      ca = join(trust.trustDir, 'identity-ca.pem');
      const opened = await openBackend(backend);
      database = opened.database;
      store = await SqlEventStore.open(opened.driver);
      status = await openCredentialStatusFixture(store, opened.driver);
      holders.revoked = await holder('to-revoke');
      holders.held = await holder('to-hold');
      holders.stranger = await holder('never-registered');
      holders.late = await holder('revoked-later');
      for (const h of [holders.revoked, holders.held, holders.late]) await status.issue(h.serialHex);
      await status.settle();
      services = await startStatusServices({ trust, status: status.source, db: opened.driver, publicUrl: PUBLIC_URL, config: { crlIntervalSeconds: 3600 } });
      app = createHttpApp(createLogger('silent'));
      await registerTrustStatusRoutes(app, { trust, status: status.source, crl: services.crl, ocsp: services.ocsp });
      await app.listen({ port: 0, host: '127.0.0.1' });
      const address = app.server.address();
      base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    });

    after(async () => {
      await app?.close();
      services?.close();
      await status?.close();
      await store?.close();
      await database?.drop();
      await trust?.close();
    });

    it('openssl ocsp (POST, nonce) reports good, and verifies the answer signed by the delegated OCSP signer', async () => {
      const r = await ocsp(holders.revoked, '-nonce');
      expect(r.code, r.stdout + r.stderr).to.equal(0);
      expect(r.stderr + r.stdout).to.include('Response verify OK');
      expect(r.stdout).to.include(`${holders.revoked.file}: good`);
      expect(r.stdout + r.stderr).not.to.include('WARNING: no nonce');
    });

    it('openssl ocsp with a SHA-256 CertID and no nonce reports good too', async () => {
      const r = await ocsp(holders.held, '-sha256', '-no_nonce');
      expect(r.code, r.stdout + r.stderr).to.equal(0);
      expect(r.stdout).to.include(`${holders.held.file}: good`);
    });

    it('the GET form (base64 DER in the URL) answers with cache headers, and openssl verifies that answer', async () => {
      const reqFile = join(dir, 'get-request.der');
      const made = await run('openssl', ['ocsp', '-issuer', ca, '-cert', holders.revoked.file, '-no_nonce', '-reqout', reqFile]);
      expect(made.code, made.stderr).to.equal(0);
      const path = encodeURIComponent(readFileSync(reqFile).toString('base64'));
      const res = await fetch(`${base}/ocsp/${path}`);
      expect(res.status).to.equal(200);
      expect(res.headers.get('content-type')).to.equal('application/ocsp-response');
      expect(res.headers.get('cache-control')).to.match(/^max-age=\d+, public, no-transform, must-revalidate$/);
      expect(res.headers.get('etag')).to.match(/^"[0-9a-f]{40}"$/);
      expect(Date.parse(res.headers.get('last-modified')!)).to.be.at.most(Date.now());
      const respFile = join(dir, 'get-response.der');
      writeFileSync(respFile, Buffer.from(await res.arrayBuffer()));
      const r = await run('openssl', ['ocsp', '-respin', respFile, '-issuer', ca, '-cert', holders.revoked.file, '-CAfile', root]);
      expect(r.code, r.stdout + r.stderr).to.equal(0);
      expect(r.stdout).to.include(`${holders.revoked.file}: good`);
      expect(r.stderr + r.stdout).to.include('Response verify OK');
    });

    it("openssl ocsp reports good for the platform's own TSA, checkpoint and OCSP signer certificates (POST with nonce, and GET)", async () => {
      for (const file of ['tsa.pem', 'checkpoint.pem', 'ocsp.pem']) {
        const own: Holder = { file: join(trust.trustDir, file), serialHex: '' };
        for (const extra of [['-nonce'], ['-no_nonce', '-sha256']]) {
          const r = await ocsp(own, ...extra);
          expect(r.code, r.stdout + r.stderr).to.equal(0);
          expect(r.stderr + r.stdout).to.include('Response verify OK');
          expect(r.stdout).to.include(`${own.file}: good`);
        }
      }
    });

    it("openssl ocsp reports good for the identity CA's certificate, asked of the root and verified as the root's own answer", async () => {
      for (const extra of [['-nonce'], ['-no_nonce']]) {
        const r = await run('openssl', ['ocsp', ...extra, '-issuer', root, '-cert', ca, '-url', `${base}/ocsp`, '-CAfile', root]);
        expect(r.code, r.stdout + r.stderr).to.equal(0);
        expect(r.stderr + r.stdout).to.include('Response verify OK');
        expect(r.stdout).to.include(`${ca}: good`);
        expect(r.stdout + r.stderr).not.to.include('WARNING: no nonce');
      }
      // Each certificate the platform issues names /ocsp, or (the OCSP signer, nocheck) names none.
      for (const file of ['identity-ca.pem', 'tsa.pem', 'checkpoint.pem', 'ocsp.pem']) {
        const uri = await run('openssl', ['x509', '-in', join(trust.trustDir, file), '-noout', '-ocsp_uri']);
        expect(uri.stdout.trim(), file).to.equal(file === 'ocsp.pem' ? '' : `${PUBLIC_URL}/ocsp`);
      }
    });

    it('openssl ocsp reports unknown for a certificate the source never heard of', async () => {
      const r = await ocsp(holders.stranger, '-nonce');
      expect(r.code, r.stdout + r.stderr).to.equal(0);
      expect(r.stdout).to.include(`${holders.stranger.file}: unknown`);
    });

    it('openssl verify -crl_check_all passes over the chain and the CRLs before any revocation', async () => {
      const r = await verifyWithCrls(holders.revoked);
      expect(r.code, r.stdout + r.stderr).to.equal(0);
      expect(r.stdout).to.include(': OK');
    });

    it('after a revocation: openssl ocsp reports revoked with its reason and time, and openssl verify fails with "certificate revoked"', async () => {
      const revokedAt = new Date(Math.floor(Date.now() / 1000) * 1000 - 3_600_000);
      await status.revoke(holders.revoked.serialHex, 'keyCompromise', revokedAt);
      await status.settle();
      await services.notify();
      const r = await ocsp(holders.revoked, '-nonce');
      expect(r.code, r.stdout + r.stderr).to.equal(0);
      expect(r.stdout).to.include(`${holders.revoked.file}: revoked`);
      expect(r.stdout).to.include('Reason: keyCompromise');
      // openssl prints e.g. "Revocation Time: Dec  1 17:47:01 2026 GMT".
      const printed = /Revocation Time: (.+ GMT)/.exec(r.stdout)?.[1];
      expect(printed, r.stdout).to.be.a('string');
      expect(new Date(printed!).getTime()).to.equal(revokedAt.getTime());
      // The cached GET answer is gone too.
      const plain = await ocsp(holders.revoked, '-no_nonce');
      expect(plain.stdout).to.include('Reason: keyCompromise');

      const v = await verifyWithCrls(holders.revoked);
      expect(v.code).not.to.equal(0);
      expect(v.stdout + v.stderr).to.include('certificate revoked');
      // With deltas: the pair published together (one number) is read as one current state.
      const crls = await fetchCrls();
      const d = await run('openssl', ['verify', '-crl_check_all', '-use_deltas', '-CAfile', root, '-untrusted', ca, '-CRLfile', crls.full, '-CRLfile', crls.delta, '-CRLfile', crls.root, holders.revoked.file]);
      expect(d.code).not.to.equal(0);
      expect(d.stdout + d.stderr).to.include('certificate revoked');
      const stillGood = await run('openssl', ['verify', '-crl_check_all', '-use_deltas', '-CAfile', root, '-untrusted', ca, '-CRLfile', crls.full, '-CRLfile', crls.delta, '-CRLfile', crls.root, holders.held.file]);
      expect(stillGood.code, stillGood.stdout + stillGood.stderr).to.equal(0);
    });

    it('a suspension is certificateHold; after reinstatement the certificate is good, and the delta CRL says removeFromCRL', async () => {
      await status.hold(holders.held.serialHex, new Date());
      await status.settle();
      await services.notify();
      const held = await ocsp(holders.held, '-nonce');
      expect(held.stdout).to.include(`${holders.held.file}: revoked`);
      expect(held.stdout).to.include('Reason: certificateHold');
      await status.reinstate(holders.held.serialHex);
      await status.settle();
      await services.notify();
      const back = await ocsp(holders.held, '-nonce');
      expect(back.stdout).to.include(`${holders.held.file}: good`);

      const crls = await fetchCrls();
      const delta = await run('openssl', ['crl', '-in', crls.delta, '-noout', '-text']);
      expect(delta.code, delta.stderr).to.equal(0);
      const full = await run('openssl', ['crl', '-in', crls.full, '-noout', '-text']);
      // Published together, one CRL number (RFC 5280 §5.2.3); the delta names an earlier base.
      const fullNumbers = crlNumbersOf(full.stdout);
      const deltaNumbers = crlNumbersOf(delta.stdout);
      expect(fullNumbers).to.deep.equal({ number: crls.fullNumber, deltaOf: null });
      expect(deltaNumbers.number).to.equal(fullNumbers.number);
      expect(deltaNumbers.deltaOf).to.be.a('number').and.to.be.below(fullNumbers.number);
      expect(delta.stdout).to.include('X509v3 Delta CRL Indicator: critical');
      expect(delta.stdout).to.include('Key Compromise');
      expect(delta.stdout).to.include('Remove From CRL');
      expect(delta.stdout).to.include(holders.held.serialHex);
      expect(full.stdout).to.include('X509v3 Freshest CRL');
      expect(full.stdout).to.include(`URI:${PUBLIC_URL}/crl/identity-ca-delta.crl`);
      expect(full.stdout).to.include('X509v3 CRL Number');
      expect(full.stdout).to.include(holders.revoked.serialHex);
      expect(full.stdout).not.to.include(holders.held.serialHex);
      // The DER served is what openssl reads with -inform DER as well.
      const der = Buffer.from(await (await fetch(`${base}/crl/identity-ca-delta.crl`)).arrayBuffer());
      const derFile = join(dir, 'delta.crl');
      writeFileSync(derFile, der);
      const asDer = await run('openssl', ['crl', '-inform', 'DER', '-in', derFile, '-noout', '-text']);
      expect(asDer.stdout).to.include('Delta CRL Indicator');
    });

    it('a CRL with a new number appears on its own after a revocation, without being told', async () => {
      const before = (await fetchCrls()).fullNumber;
      // Projected and picked up by the publisher's own poll of the read model's revision.
      await status.revoke(holders.late.serialHex, 'superseded', new Date());
      const crls = await until('a new CRL after the revocation', async () => {
        const now = await fetchCrls();
        return now.fullNumber !== before && now;
      });
      expect(crls.fullNumber).to.be.greaterThan(before);
      const text = await run('openssl', ['crl', '-in', crls.full, '-noout', '-text']);
      const delta = await run('openssl', ['crl', '-in', crls.delta, '-noout', '-text']);
      expect(crlNumbersOf(delta.stdout).number).to.equal(crlNumbersOf(text.stdout).number);
      expect(text.stdout).to.include(holders.late.serialHex);
      expect(text.stdout).to.include('Superseded');
    });

    it('the root CA CRL covers the identity CA certificate (empty), and a repeated GET with its ETag is a 304', async () => {
      const first = await fetch(`${base}/crl/root-ca.crl`);
      const text = await run('openssl', ['crl', '-in', (await fetchCrls()).root, '-noout', '-text']);
      expect(text.stdout).to.include('No Revoked Certificates');
      expect(text.stdout).to.include('Root CA');
      const again = await fetch(`${base}/crl/root-ca.crl`, { headers: { 'if-none-match': first.headers.get('etag')! } });
      expect(again.status).to.equal(304);
    });

    describe('bad input gets an OCSP error status, never a 5xx', () => {
      const post = async (body: Buffer, type = 'application/ocsp-request') => {
        const res = await fetch(`${base}/ocsp`, { method: 'POST', headers: { 'content-type': type }, body });
        expect(res.status).to.be.below(500);
        expect(res.headers.get('content-type')).to.equal('application/ocsp-response');
        return { http: res.status, ocsp: responseStatus(Buffer.from(await res.arrayBuffer())) };
      };
      const requestFor = async (h: Holder, issuer = ca, ...extra: string[]) => {
        const file = join(dir, `req-${randomBytes(4).toString('hex')}.der`);
        const r = await run('openssl', ['ocsp', '-issuer', issuer, '-cert', h.file, '-reqout', file, ...extra]);
        expect(r.code, r.stderr).to.equal(0);
        return readFileSync(file);
      };

      it('garbage → malformedRequest', async () => {
        expect(await post(Buffer.from('GET me a certificate status, please'))).to.deep.equal({ http: 200, ocsp: 1 });
      });
      it('truncated DER → malformedRequest', async () => {
        const der = await requestFor(holders.revoked);
        expect(await post(der.subarray(0, der.length - 7))).to.deep.equal({ http: 200, ocsp: 1 });
      });
      it('an empty body → malformedRequest', async () => {
        expect(await post(Buffer.alloc(0))).to.deep.equal({ http: 200, ocsp: 1 });
      });
      it('a wrong content type → malformedRequest with HTTP 415', async () => {
        expect(await post(await requestFor(holders.revoked), 'application/json')).to.deep.equal({ http: 415, ocsp: 1 });
      });
      it('a nonce of 33 octets → malformedRequest (RFC 8954); 32 are answered', async () => {
        // openssl sends 16 octets: its request is read and its nonce replaced.
        const withNonce = (octets: number) => async () => {
          const request = AsnConvert.parse(await requestFor(holders.revoked, ca, '-nonce'), OCSPRequest);
          const ext = request.tbsRequest.requestExtensions!.find((e) => e.extnID === id_pkix_ocsp_nonce)!;
          ext.extnValue = new OctetString(AsnConvert.serialize(new OctetString(randomBytes(octets))));
          return Buffer.from(AsnConvert.serialize(request));
        };
        expect(await post(await withNonce(33)())).to.deep.equal({ http: 200, ocsp: 1 });
        expect(await post(await withNonce(32)())).to.deep.equal({ http: 200, ocsp: 0 });
      });
      it('a CertID of an issuer this responder does not serve (the TSA certificate as issuer) → unauthorized', async () => {
        const der = await requestFor(holders.held, join(trust.trustDir, 'tsa.pem'));
        expect(await post(der)).to.deep.equal({ http: 200, ocsp: 6 });
      });
      it('17 CertIDs in one request → malformedRequest; 3 are answered', async () => {
        const three = ['-cert', holders.revoked.file, '-cert', holders.held.file, '-cert', holders.late.file];
        const r = await run('openssl', ['ocsp', '-issuer', ca, ...three, '-url', `${base}/ocsp`, '-CAfile', root, '-nonce']);
        expect(r.code, r.stderr).to.equal(0);
        expect(r.stdout).to.include(`${holders.held.file}: good`);
        expect(r.stdout).to.include(`${holders.late.file}: revoked`);
        const many = Array.from({ length: 17 }, () => ['-cert', holders.held.file]).flat();
        const file = join(dir, 'many.der');
        const m = await run('openssl', ['ocsp', '-issuer', ca, ...many, '-reqout', file]);
        expect(m.code, m.stderr).to.equal(0);
        expect(await post(readFileSync(file))).to.deep.equal({ http: 200, ocsp: 1 });
      });
      it('a GET with a path that is not base64 → malformedRequest', async () => {
        const res = await fetch(`${base}/ocsp/${encodeURIComponent('not base64!')}`);
        expect(res.status).to.equal(400);
        expect(responseStatus(Buffer.from(await res.arrayBuffer()))).to.equal(1);
        const garbage = await fetch(`${base}/ocsp/${encodeURIComponent(Buffer.from('garbage').toString('base64'))}`);
        expect(garbage.status).to.equal(200);
        expect(responseStatus(Buffer.from(await garbage.arrayBuffer()))).to.equal(1);
      });
      it('a body over the size limit → malformedRequest with HTTP 413', async () => {
        expect(await post(randomBytes(64 * 1024))).to.deep.equal({ http: 413, ocsp: 1 });
      });
    });
  });
}

statusSuite('software hierarchy (non_qualified)', 'pglite', async (dataDir) =>
  openTrustKeys({ signer: { mode: 'non_qualified', pkcs11: null }, dataDir, publicUrl: PUBLIC_URL, ensureSoftwareHierarchy: true }),
);

statusSuite('SoftHSM2 token (qualified)', 'postgres', async (dataDir) => {
  const hsm = await testSoftHsm();
  const signer: SignerConfig = { mode: 'qualified', pkcs11: { module: hsm.module, tokenLabel: hsm.tokenLabel, userPin: hsm.userPin, env: hsm.env } };
  await performKeyCeremony({ signer, dataDir, publicUrl: PUBLIC_URL });
  return openTrustKeys({ signer, dataDir, publicUrl: PUBLIC_URL });
});
