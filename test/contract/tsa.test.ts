import 'reflect-metadata';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { FastifyInstance } from 'fastify';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { MessageImprint, TimeStampReq } from '@peculiar/asn1-tsp';
import { AlgorithmIdentifier } from '@peculiar/asn1-x509';
import { createLogger } from '@registo/base';
import type { SignerConfig } from '@registo/hsm';
import {
  type TimeStampAuthority,
  type TrustKeys,
  TSA_POLICY_OIDS,
  createTimestamper,
  decodeTimeStampResp,
  openTrustKeys,
  performKeyCeremony,
} from '@registo/trust';
import { TIMESTAMP_QUERY, TIMESTAMP_REPLY, createHttpApp, registerTsaRoutes } from '@registo/gateways';
import { testSoftHsm } from '../src/support/softhsm.js';
import { opensslOk, run } from '../src/support/processes.js';

const PUBLIC_URL = 'https://registo.example.test';
const SHA256 = '2.16.840.1.101.3.4.2.1';

async function openssl(...args: string[]): Promise<string> {
  const r = await opensslOk(args);
  return r.stdout + r.stderr;
}

/** A TimeStampReq made here, for the requests openssl will not make. */
function request(options: { algorithm?: string; imprint?: Buffer; policy?: string; version?: number; withNullParams?: boolean }): Buffer {
  const req = new TimeStampReq({
    version: options.version ?? 1,
    messageImprint: new MessageImprint({
      hashAlgorithm: new AlgorithmIdentifier({ algorithm: options.algorithm ?? SHA256, ...(options.withNullParams && { parameters: new Uint8Array([5, 0]).buffer }) }),
      hashedMessage: new OctetString(options.imprint ?? createHash('sha256').update('x').digest()),
    }),
    ...(options.policy && { reqPolicy: options.policy }),
    certReq: true,
  });
  return Buffer.from(AsnConvert.serialize(req));
}

function tsaSuite(name: string, mode: 'qualified' | 'non_qualified', signerConfig: () => Promise<SignerConfig>): void {
  describe(`RFC 3161 time-stamping authority: ${name}`, function () {
    this.timeout(120_000);
    let dir: string;
    let trust: TrustKeys;
    let tsa: TimeStampAuthority;
    let app: FastifyInstance;
    let url: string;
    let data: string;
    let other: string;

    const post = (body: Buffer | string, contentType: string | null = TIMESTAMP_QUERY) =>
      fetch(url, { method: 'POST', body, headers: contentType ? { 'content-type': contentType } : {} });

    /** openssl ts -query for `file` with `flags`, POSTed over HTTP; the reply is saved as resp.tsr. */
    async function timestampOverHttp(file: string, flags: string[], out = join(dir, 'resp.tsr'), digest = '-sha256'): Promise<string> {
      await openssl('ts', '-query', '-data', file, digest, ...flags, '-out', join(dir, 'req.tsq'));
      const response = await post(readFileSync(join(dir, 'req.tsq')));
      expect(response.status).to.equal(200);
      expect(response.headers.get('content-type')).to.equal(TIMESTAMP_REPLY);
      writeFileSync(out, Buffer.from(await response.arrayBuffer()));
      return out;
    }

    const verify = (file: string, reply: string, untrusted: string) =>
      run('openssl', ['ts', '-verify', '-data', file, '-in', reply, '-CAfile', join(trust.trustDir, 'root-ca.pem'), '-untrusted', untrusted]);

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), `registo-tsa-${mode}-`));
      const signer = await signerConfig();
      if (mode === 'qualified') await performKeyCeremony({ signer, dataDir: dir, publicUrl: PUBLIC_URL });
      trust = await openTrustKeys({ signer, dataDir: dir, publicUrl: PUBLIC_URL, ensureSoftwareHierarchy: mode === 'non_qualified' });
      tsa = createTimestamper(trust);
      app = createHttpApp(createLogger('silent'));
      registerTsaRoutes(app, { tsa });
      url = `${await app.listen({ port: 0, host: '127.0.0.1' })}/tsa`;
      data = join(dir, 'evidence.txt');
      writeFileSync(data, `evidence exported at ${new Date().toISOString()}\n`);
      other = join(dir, 'other.txt');
      writeFileSync(other, 'something else\n');
      // Without certReq the token does not carry the TSA certificate: the verifier brings it.
      writeFileSync(join(dir, 'chain.pem'), readFileSync(join(trust.trustDir, 'identity-ca.pem'), 'utf8') + readFileSync(join(trust.trustDir, 'tsa.pem'), 'utf8'));
    });

    after(async () => {
      await app?.close();
      await trust?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('openssl ts -query -cert → POST /tsa → the reply prints as granted, with policy, imprint, nonce, accuracy and TSA name', async () => {
      const asked = Date.now();
      const reply = await timestampOverHttp(data, ['-cert']);
      const answered = Date.now();
      const query = await openssl('ts', '-query', '-in', join(dir, 'req.tsq'), '-text');
      const nonce = /Nonce: (0x[0-9A-F]+)/.exec(query)![1];
      const text = await openssl('ts', '-reply', '-in', reply, '-text');
      expect(text).to.include('Status: Granted.');
      expect(text).to.include(`Policy OID: ${TSA_POLICY_OIDS[mode]}`);
      expect(text).to.include('Hash Algorithm: sha256');
      expect(text).to.include(`Nonce: ${nonce}`);
      expect(text).to.include('Accuracy: 0x01 seconds');
      expect(text).to.match(/TSA: DirName:\/O=Registo\/OU=Trust Services\/CN=Registo Timestamp Authority/);
      if (mode === 'non_qualified') expect(text).to.include('(non-qualified)');
      else expect(text).not.to.include('non-qualified');
      const digest = createHash('sha256').update(readFileSync(data)).digest('hex');
      const printed = [...text.matchAll(/^\s+00[0-9a-f]0 - ([0-9a-f -]+?)\s{2,}/gm)].map((m) => m[1]!.replace(/[ -]/g, '')).join('');
      expect(printed).to.equal(digest);
      const time = /Time stamp: (.+)/.exec(text)![1]!;
      // An order, not a duration: the stamped time (printed to the millisecond at most) falls
      // between the moments the request was sent and its reply came.
      const stamped = Date.parse(time.replace(/\.\d+ /, ' ')) + Number(/\.(\d+) /.exec(time)?.[1]?.padEnd(3, '0').slice(0, 3) ?? 0);
      expect(stamped, time).to.be.within(Math.floor(asked / 1000) * 1000, answered);
    });

    it('openssl ts -verify accepts a token with the certificate (chain: root CA, identity CA untrusted) and refuses other data', async () => {
      const reply = await timestampOverHttp(data, ['-cert']);
      const ok = await verify(data, reply, join(trust.trustDir, 'identity-ca.pem'));
      expect(ok.code, ok.stdout + ok.stderr).to.equal(0);
      expect(ok.stdout).to.include('Verification: OK');
      const wrong = await verify(other, reply, join(trust.trustDir, 'identity-ca.pem'));
      expect(wrong.code).to.not.equal(0);
      expect(wrong.stdout + wrong.stderr).to.match(/message imprint mismatch/);
    });

    it('without -cert the token carries no certificate: verifies when the verifier has the TSA certificate, not otherwise', async () => {
      const reply = await timestampOverHttp(data, []);
      const token = decodeTimeStampResp(readFileSync(reply)).token!;
      expect(token.includes(trust.certificates.tsa_signer.der)).to.equal(false);
      const ok = await verify(data, reply, join(dir, 'chain.pem'));
      expect(ok.code, ok.stdout + ok.stderr).to.equal(0);
      const noCert = await verify(data, reply, join(trust.trustDir, 'identity-ca.pem'));
      expect(noCert.code).to.not.equal(0);
      const withCert = decodeTimeStampResp(readFileSync(await timestampOverHttp(data, ['-cert'], join(dir, 'with-cert.tsr')))).token!;
      expect(withCert.includes(trust.certificates.tsa_signer.der)).to.equal(true);
    });

    for (const digest of ['-sha384', '-sha512']) {
      it(`openssl ts -query ${digest}: granted with that imprint algorithm, and openssl ts -verify accepts it`, async () => {
        const reply = await timestampOverHttp(data, ['-cert'], join(dir, `resp${digest}.tsr`), digest);
        const text = await openssl('ts', '-reply', '-in', reply, '-text');
        expect(text).to.match(/Status: Granted/);
        expect(text).to.include(`Hash Algorithm: ${digest.slice(1)}`);
        const ok = await verify(data, reply, join(trust.trustDir, 'identity-ca.pem'));
        expect(ok.code, ok.stdout + ok.stderr).to.equal(0);
        expect(ok.stdout).to.include('Verification: OK');
      });
    }

    it('-no_nonce: granted without a nonce, and verifies', async () => {
      const reply = await timestampOverHttp(data, ['-cert', '-no_nonce']);
      const text = await openssl('ts', '-reply', '-in', reply, '-text');
      expect(text).to.include('Nonce: unspecified');
      const ok = await verify(data, reply, join(trust.trustDir, 'identity-ca.pem'));
      expect(ok.code, ok.stdout + ok.stderr).to.equal(0);
    });

    it('a token signed for one request does not verify for another data file (the imprint is signed)', async () => {
      const reply = await timestampOverHttp(other, ['-cert']);
      expect((await verify(other, reply, join(trust.trustDir, 'identity-ca.pem'))).code).to.equal(0);
      expect((await verify(data, reply, join(trust.trustDir, 'identity-ca.pem'))).code).to.not.equal(0);
    });

    it('serial numbers are unique, nonces are echoed, and the policy is requested by its OID', async () => {
      const serials = new Set<string>();
      for (let i = 0; i < 20; i++) {
        const nonce = BigInt(i) * 0x1_0000_0001n + 77n;
        const token = await tsa.timestamp({ messageImprint: createHash('sha256').update(String(i)).digest(), nonce });
        writeFileSync(join(dir, 'token.der'), token);
        const text = await openssl('ts', '-reply', '-in', join(dir, 'token.der'), '-token_in', '-text');
        serials.add(/Serial number: (0x[0-9A-F]+)/.exec(text)![1]!);
        const hex = nonce.toString(16).toUpperCase();
        expect(text).to.include(`Nonce: 0x${hex.length % 2 ? `0${hex}` : hex}\n`);
      }
      expect(serials.size).to.equal(20);
      await openssl('ts', '-query', '-data', data, '-sha256', '-cert', '-tspolicy', TSA_POLICY_OIDS[mode], '-out', join(dir, 'req.tsq'));
      const response = decodeTimeStampResp(await tsa.respond(readFileSync(join(dir, 'req.tsq'))));
      expect(response.status).to.equal(0);
    });

    describe('refusals: a rejection with the right failInfo, never a 5xx', () => {
      async function refused(body: Buffer | string, failure: string, contentType: string | null = TIMESTAMP_QUERY, status = 200): Promise<string> {
        const response = await post(body, contentType);
        expect(response.status).to.equal(status);
        expect(response.headers.get('content-type')).to.equal(TIMESTAMP_REPLY);
        const der = Buffer.from(await response.arrayBuffer());
        const decoded = decodeTimeStampResp(der);
        expect(decoded.status).to.equal(2); // rejection
        expect(decoded.failInfo).to.deep.equal([failure]);
        expect(decoded.token).to.equal(null);
        writeFileSync(join(dir, 'refused.tsr'), der);
        return openssl('ts', '-reply', '-in', join(dir, 'refused.tsr'), '-text');
      }

      it('garbage → badDataFormat', async () => {
        const text = await refused(Buffer.from('this is not DER at all'), 'badDataFormat');
        expect(text).to.include('Status: Rejected.');
        expect(text).to.match(/Failure info: the data submitted has the wrong format/);
      });

      it('a truncated request → badDataFormat', async () => {
        await openssl('ts', '-query', '-data', data, '-sha256', '-cert', '-out', join(dir, 'req.tsq'));
        const full = readFileSync(join(dir, 'req.tsq'));
        for (const cut of [1, 10, full.length - 1]) await refused(full.subarray(0, cut), 'badDataFormat');
        await refused(Buffer.concat([full, Buffer.from([0])]), 'badDataFormat');
      });

      it('a SHA-1 imprint (openssl -sha1) → badAlg', async () => {
        await openssl('ts', '-query', '-data', data, '-sha1', '-out', join(dir, 'sha1.tsq'));
        const text = await refused(readFileSync(join(dir, 'sha1.tsq')), 'badAlg');
        expect(text).to.match(/unrecognized or unsupported algorithm identifier/i);
      });

      it('an unknown hash algorithm, or SHA-256 with an imprint of the wrong length → badAlg', async () => {
        await refused(request({ algorithm: '1.2.3.4.5' }), 'badAlg');
        await refused(request({ imprint: Buffer.alloc(20, 1) }), 'badAlg');
        await refused(request({ imprint: Buffer.alloc(33, 1) }), 'badAlg');
        await refused(request({ algorithm: '2.16.840.1.101.3.4.2.3', imprint: Buffer.alloc(32, 1) }), 'badAlg');
      });

      it('SHA-256 with NULL parameters is accepted', async () => {
        const decoded = decodeTimeStampResp(await (await post(request({ withNullParams: true }))).arrayBuffer().then((b) => Buffer.from(b)));
        expect(decoded.status).to.equal(0);
      });

      it('a policy this TSA does not serve → unacceptedPolicy (the other mode\'s policy too)', async () => {
        const text = await refused(request({ policy: '1.2.3.4' }), 'unacceptedPolicy');
        expect(text).to.match(/policy/i);
        await refused(request({ policy: TSA_POLICY_OIDS[mode === 'qualified' ? 'non_qualified' : 'qualified'] }), 'unacceptedPolicy');
      });

      it('version 2 → badDataFormat', async () => {
        await refused(request({ version: 2 }), 'badDataFormat');
      });

      it('a wrong content type (415), an empty body (400) and a missing content type are rejections in the protocol', async () => {
        await refused(request({}), 'badRequest', 'application/json', 415);
        await refused(request({}), 'badRequest', 'application/octet-stream', 415);
        await refused(Buffer.alloc(0), 'badDataFormat', TIMESTAMP_QUERY, 400);
        await refused(request({}), 'badRequest', null, 415);
      });

      it('a signer that fails (closed token session) → systemFailure over HTTP 200, not an HTTP 5xx', async () => {
        const second = await openTrustKeys({ signer: await signerConfig(), dataDir: dir, publicUrl: PUBLIC_URL });
        const broken = createTimestamper(second);
        await second.signers.tsa_signer.close?.();
        await second.close();
        const brokenApp = createHttpApp(createLogger('silent'));
        registerTsaRoutes(brokenApp, { tsa: broken });
        try {
          const response = await fetch(`${await brokenApp.listen({ port: 0, host: '127.0.0.1' })}/tsa`, { method: 'POST', body: request({}), headers: { 'content-type': TIMESTAMP_QUERY } });
          expect(response.status).to.equal(200);
          expect(response.headers.get('content-type')).to.equal(TIMESTAMP_REPLY);
          const decoded = decodeTimeStampResp(Buffer.from(await response.arrayBuffer()));
          expect(decoded.status).to.equal(2);
          expect(decoded.failInfo).to.deep.equal(['systemFailure']);
        } finally {
          await brokenApp.close();
        }
      });

      it('an oversized body → 413 with a rejection', async () => {
        await refused(Buffer.alloc(64 * 1024, 0x30), 'badDataFormat', TIMESTAMP_QUERY, 413);
      });
    });
  });
}

tsaSuite('software keys (non_qualified)', 'non_qualified', async () => ({ mode: 'non_qualified', pkcs11: null }));

tsaSuite('SoftHSM2 token (qualified)', 'qualified', async () => {
  const hsm = await testSoftHsm();
  return { mode: 'qualified', pkcs11: { module: hsm.module, tokenLabel: hsm.tokenLabel, userPin: hsm.userPin, env: hsm.env } };
});
