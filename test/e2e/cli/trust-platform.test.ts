import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { DEV_API_TOKENS } from '@registo/config';
import { embeddedStartEnv } from '../../src/support/platform-env.js';
import { until } from '../../src/support/until.js';
import { exitOf, runCli, startCli } from './run-cli.js';

/*
 * The trust services of a running `registo start`, as a relying party and an auditor meet them,
 * checked with tools no one here wrote: a holder key and CSR made by openssl, the certificate the
 * platform issues for it, `openssl ocsp` before and after a revocation that goes through dual
 * control, `openssl verify -crl_check` against the CRLs the platform publishes, `openssl ts` against
 * its timestamp authority, and `registo audit verify` over the platform's own export.
 */

interface Run {
  code: number;
  out: string;
}

function sh(command: string, args: string[], cwd: string): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof (error as { code?: unknown }).code === 'number' ? ((error as { code: number }).code) : 1) : 0;
      resolve({ code, out: `${stdout}${stderr}` });
    });
  });
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('trust services of a running platform, checked with openssl (embedded store, software keys)', function () {
  this.timeout(240_000);
  const root = mkdtempSync(join(tmpdir(), 'registo-trust-platform-'));
  const dataDir = join(root, 'data');
  const work = join(root, 'work');
  const env: NodeJS.ProcessEnv = {
    ...embeddedStartEnv(dataDir),
    REGISTO_CHECKPOINT_INTERVAL_MS: '200',
    // officer-1 also holds the approver role here: dual control is about the person, not the token.
    REGISTO_API_TOKENS: `${DEV_API_TOKENS},dev-officer-approving:officer-1:approver`,
  };
  let platform: Awaited<ReturnType<typeof startCli>>;
  let url: string;

  const call = async (method: string, path: string, token: string | null, body?: unknown): Promise<{ status: number; json: Record<string, any>; text: string }> => {
    const headers: Record<string, string> = {};
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${url}${path}`, { method, headers, ...(body !== undefined && { body: JSON.stringify(body) }) });
    const text = await res.text();
    let json: Record<string, any> = {};
    try {
      json = JSON.parse(text) as Record<string, any>;
    } catch {
      json = {};
    }
    return { status: res.status, json, text };
  };
  const ocsp = (): Promise<Run> =>
    sh('openssl', ['ocsp', '-issuer', join(dataDir, 'trust', 'identity-ca.pem'), '-cert', 'holder.pem', '-url', `${url}/ocsp`, '-CAfile', join(dataDir, 'trust', 'root-ca.pem'), '-nonce'], work);

  before(async () => {
    rmSync(work, { recursive: true, force: true });
    await sh('mkdir', ['-p', work], root);
    platform = await startCli(['start', '--port', '0'], env);
    url = platform.url;
  });

  after(async () => {
    platform?.child.kill('SIGTERM');
    if (platform) expect(await exitOf(platform.child)).to.equal(0);
    rmSync(root, { recursive: true, force: true });
  });

  it('issues a holder certificate from an openssl CSR; openssl ocsp says good, still good on an unapproved revocation, revoked (keyCompromise) once a second person approves; the CRL agrees', async () => {
    const demo = await runCli(['demo', '--enrollments', '4', '--url', url, '--invalid', '0', '--wait', '90'], env);
    expect(demo.code, demo.stderr).to.equal(0);
    // The print bureau sees every new national-ID credential, with the holder's UIN.
    let uin: string | undefined;
    for (let i = 0; i < 200 && !uin; i++) {
      const orders = await fetch(`${url}/v1/print-orders?after=0`, { headers: { authorization: 'Bearer dev-print-bureau' } });
      uin = (await orders.text()).split('\n').filter(Boolean).map((l) => JSON.parse(l) as { uin: string })[0]?.uin;
      if (!uin) await sleep(100);
    }
    expect(uin, 'no credential was issued for the demo identities').to.be.a('string');

    expect((await sh('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'holder.key'], work)).code).to.equal(0);
    expect((await sh('openssl', ['req', '-new', '-key', 'holder.key', '-subj', '/CN=holder chip', '-out', 'holder.csr'], work)).code).to.equal(0);
    // The first key is bound in person: an officer submits the holder's CSR.
    const issued = await call('POST', `/v1/holders/${uin}/credentials/x509`, 'dev-officer', { csr: readFileSync(join(work, 'holder.csr'), 'utf8') });
    expect(issued.status, issued.text).to.equal(201);
    expect(issued.json.signerMode).to.equal('non_qualified');
    writeFileSync(join(work, 'holder.pem'), issued.json.certificatePem as string);
    const chain = await sh('openssl', ['verify', '-x509_strict', '-CAfile', join(dataDir, 'trust', 'root-ca.pem'), '-untrusted', join(dataDir, 'trust', 'identity-ca.pem'), 'holder.pem'], work);
    expect(chain.out).to.match(/holder\.pem: OK/);

    let answer = await ocsp();
    expect(answer.out).to.match(/Response verify OK/);
    expect(answer.out).to.match(/holder\.pem: good/);

    const credentialId = issued.json.credentialId as string;
    const asked = await call('POST', `/v1/credentials/${credentialId}/status-requests`, 'dev-officer', { action: 'REVOKE', reason: 'keyCompromise', comment: 'chip cloned' });
    expect(asked.status, asked.text).to.equal(202);
    // The requester cannot approve their own request, whatever token they hold.
    const self = await call('POST', `/v1/credential-status-requests/${asked.json.requestId}/approve`, 'dev-officer-approving');
    expect(self.status, self.text).to.equal(403);
    expect(self.json.code).to.equal('DUAL_CONTROL_VIOLATION');
    // The marker: the credential-status read model (the one OCSP answers from) lists the request
    // as pending, so it has handled the request's event; the OCSP answer after that counts.
    await until('the request listed as pending', async () => {
      const pending = await call('GET', '/v1/credential-status-requests?state=PENDING', 'dev-approver');
      return (pending.json.items as Array<{ requestId: string }> | undefined)?.some((r) => r.requestId === asked.json.requestId);
    });
    answer = await ocsp();
    expect(answer.out, 'an unapproved revocation changed OCSP').to.match(/holder\.pem: good/);

    const approved = await call('POST', `/v1/credential-status-requests/${asked.json.requestId}/approve`, 'dev-approver');
    expect(approved.status, approved.text).to.equal(200);
    for (let i = 0; i < 100; i++) {
      answer = await ocsp();
      if (/holder\.pem: revoked/.test(answer.out)) break;
      await sleep(200);
    }
    expect(answer.out).to.match(/Response verify OK/);
    expect(answer.out).to.match(/holder\.pem: revoked/);
    expect(answer.out).to.match(/Reason: keyCompromise/);

    // The CRLs the certificates point at: the identity CA's lists the serial, openssl refuses the certificate.
    for (let i = 0; i < 50; i++) {
      const crl = Buffer.from(await (await fetch(`${url}/crl/identity-ca.crl`)).arrayBuffer());
      writeFileSync(join(work, 'identity-ca.crl'), crl);
      const text = await sh('openssl', ['crl', '-inform', 'DER', '-in', 'identity-ca.crl', '-noout', '-text'], work);
      if (text.out.toUpperCase().includes((issued.json.serialHex as string).toUpperCase())) break;
      await sleep(200);
    }
    writeFileSync(join(work, 'root-ca.crl'), Buffer.from(await (await fetch(`${url}/crl/root-ca.crl`)).arrayBuffer()));
    await sh('openssl', ['crl', '-inform', 'DER', '-in', 'identity-ca.crl', '-out', 'identity-ca.crl.pem'], work);
    await sh('openssl', ['crl', '-inform', 'DER', '-in', 'root-ca.crl', '-out', 'root-ca.crl.pem'], work);
    const revoked = await sh(
      'openssl',
      ['verify', '-crl_check_all', '-CAfile', join(dataDir, 'trust', 'root-ca.pem'), '-untrusted', join(dataDir, 'trust', 'identity-ca.pem'), '-CRLfile', 'identity-ca.crl.pem', '-CRLfile', 'root-ca.crl.pem', 'holder.pem'],
      work,
    );
    expect(revoked.code).to.not.equal(0);
    expect(revoked.out).to.match(/certificate revoked/);
  });

  it("openssl ocsp gives a definitive answer for the platform's own certificates: the identity CA (asked of the root), the TSA, checkpoint and OCSP signers are good", async () => {
    const trustDir = join(dataDir, 'trust');
    const asked: Array<[issuer: string, cert: string]> = [
      ['root-ca.pem', 'identity-ca.pem'],
      ['identity-ca.pem', 'tsa.pem'],
      ['identity-ca.pem', 'checkpoint.pem'],
      ['identity-ca.pem', 'ocsp.pem'],
    ];
    for (const [issuer, cert] of asked) {
      const answer = await sh('openssl', ['ocsp', '-issuer', join(trustDir, issuer), '-cert', join(trustDir, cert), '-url', `${url}/ocsp`, '-CAfile', join(trustDir, 'root-ca.pem'), '-nonce'], work);
      expect(answer.code, answer.out).to.equal(0);
      expect(answer.out, cert).to.match(/Response verify OK/);
      expect(answer.out, cert).to.include(`${join(trustDir, cert)}: good`);
    }
  });

  it('timestamps with openssl ts against POST /tsa, and the platform\'s own export verifies offline with registo audit verify', async () => {
    writeFileSync(join(work, 'evidence.txt'), 'revocation evidence for the file\n');
    expect((await sh('openssl', ['ts', '-query', '-data', 'evidence.txt', '-sha256', '-cert', '-out', 'q.tsq'], work)).code).to.equal(0);
    const reply = await fetch(`${url}/tsa`, { method: 'POST', headers: { 'content-type': 'application/timestamp-query' }, body: readFileSync(join(work, 'q.tsq')) });
    expect(reply.status).to.equal(200);
    writeFileSync(join(work, 'r.tsr'), Buffer.from(await reply.arrayBuffer()));
    const verified = await sh('openssl', ['ts', '-verify', '-data', 'evidence.txt', '-in', 'r.tsr', '-CAfile', join(dataDir, 'trust', 'root-ca.pem'), '-untrusted', join(dataDir, 'trust', 'identity-ca.pem')], work);
    expect(verified.out).to.match(/Verification: OK/);
    writeFileSync(join(work, 'other.txt'), 'something else\n');
    const other = await sh('openssl', ['ts', '-verify', '-data', 'other.txt', '-in', 'r.tsr', '-CAfile', join(dataDir, 'trust', 'root-ca.pem'), '-untrusted', join(dataDir, 'trust', 'identity-ca.pem')], work);
    expect(other.out).to.not.match(/Verification: OK/);

    // A checkpoint covers what happened above; then the whole log verifies from the platform's export.
    let checkpoint = '';
    for (let i = 0; i < 100; i++) {
      checkpoint = await (await fetch(`${url}/v1/audit/checkpoint`)).text();
      if (/signer-mode non_qualified/.test(checkpoint)) break;
      await sleep(200);
    }
    expect(checkpoint).to.match(/signer-mode non_qualified/);
    const audit = await runCli(['audit', 'verify', url, '--token', 'dev-auditor', '--json'], env);
    expect(audit.code, `${audit.stdout}\n${audit.stderr}`).to.equal(0);
  });
});
