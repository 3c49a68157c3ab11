import { expect } from 'chai';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { VARIABLE_NAMES } from '@registo/base';
import { TRUST_KEYS } from '@registo/trust';
import { freePort, until } from '../../src/index.js';
import { exitOf, runCli, startCli } from './run-cli.js';

/** `registo start` with only PORT set: the public URL it signs into certificates and checkpoints comes from that port. */
describe('registo start: the public URL follows PORT unless REGISTO_PUBLIC_URL is set', function () {
  this.timeout(300_000);
  let root: string;
  let dataDir: string;
  let port: number;
  let child: ChildProcess;
  let url: string;
  /** The port of the restart. */
  let other: number;

  // Only PORT (and a data dir of its own): no REGISTO_PUBLIC_URL, no HOST, wherever the test runs.
  const env = (p: number): NodeJS.ProcessEnv => ({
    PORT: String(p),
    HOST: '',
    REGISTO_PUBLIC_URL: '',
    REGISTO_URL: '',
    REGISTO_DATA_DIR: dataDir,
    REGISTO_SIGA_PORT: '0',
    REGISTO_IMMIGRATION_PORT: '0',
    REGISTO_ABIS_PORT: '0',
    REGISTO_CHECKPOINT_INTERVAL_MS: '200',
  });

  before(async () => {
    root = mkdtempSync(join(tmpdir(), 'registo-public-url-'));
    dataDir = join(root, 'data');
    port = await freePort();
    ({ child, url } = await startCli(['start'], env(port)));
  });
  after(async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await exitOf(child);
    }
    rmSync(root, { recursive: true, force: true });
  });

  it('signs http://127.0.0.1:<PORT> into the certificates and the checkpoint origin', async () => {
    expect(url).to.equal(`http://127.0.0.1:${port}`);
    const identityCa = new X509Certificate(readFileSync(join(dataDir, 'trust', 'identity-ca.pem')));
    expect(identityCa.infoAccess).to.include(`OCSP - URI:http://127.0.0.1:${port}/ocsp`);
    const keys = (await (await fetch(`${url}/v1/audit/keys`)).json()) as { checkpoint: { keyName: string } };
    expect(keys.checkpoint.keyName).to.equal(`127.0.0.1:${port}/audit`);
  });

  it('`demo --url` works against it, and the checkpoints over its events name that origin', async () => {
    const r = await runCli(['demo', '--enrollments', '3', '--url', url, '--wait', '120', '--json'], env(port));
    expect(r.code, r.stderr).to.equal(0);
    const summary = JSON.parse(r.stdout.trim().split('\n').pop()!) as { enrollments: number; submitted: { accepted: number; refused: number }; outcomes: { PENDING: number } };
    expect(summary.enrollments).to.equal(3);
    expect(summary.outcomes.PENDING).to.equal(0);
    const note = await until('a checkpoint', async () => {
      const res = await fetch(`${url}/v1/audit/checkpoints/latest`);
      return res.ok && ((await res.json()) as { note: string }).note;
    });
    expect(note.split('\n')[0]).to.equal(`127.0.0.1:${port}/audit`);
  });

  it('`demo` and `audit verify` against a closed port say which URL they failed to reach', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const demo = await runCli(['demo', '--enrollments', '1', '--url', closed, '--wait', '5'], env(port));
    expect(demo.code, 'demo: could not run').to.equal(2);
    expect(demo.stderr).to.include(`PLATFORM_UNREACHABLE: cannot reach the platform at ${closed}`);
    expect(demo.stderr).to.include('ECONNREFUSED');
    const verify = await runCli(['audit', 'verify'], { REGISTO_URL: closed });
    expect(verify.code, 'audit verify: could not verify').to.equal(2);
    expect(verify.stderr).to.include(`PLATFORM_UNREACHABLE: cannot reach the platform at ${closed}`);
  });

  it('a restart on another PORT with the same data dir is refused with PUBLIC_URL_MISMATCH, naming both URLs and the ceremony', async () => {
    child.kill('SIGTERM');
    expect(await exitOf(child)).to.equal(0);
    other = await freePort();
    const refused = await runCli(['start'], env(other));
    expect(refused.code).to.equal(1);
    const line = refused.stderr.trim().split('\n').filter((l) => l.startsWith('registo: ')).at(-1) ?? refused.stderr;
    expect(line).to.include('PUBLIC_URL_MISMATCH');
    expect(line).to.include(`name the public URL http://127.0.0.1:${port} `);
    expect(line).to.include(`this platform's public URL is http://127.0.0.1:${other} `);
    expect(line).to.include(`REGISTO_PUBLIC_URL=http://127.0.0.1:${other} registo keys init`);
    expect(line).to.include(join(dataDir, 'trust'));
  });

  it('the ceremony the refusal names issues the certificates for the new URL; the log keeps its first origin', async () => {
    const unmoved = await runCli(['keys', 'init'], env(other));
    expect(unmoved.code, unmoved.stderr).to.equal(0);
    expect(unmoved.stderr, 'a ceremony that kept the old certificates says so').to.include('warning: PUBLIC_URL_MISMATCH');
    mkdirSync(join(root, 'old-certificates'));
    for (const spec of TRUST_KEYS.filter((k) => k.issuer !== k.role)) renameSync(join(dataDir, 'trust', spec.file), join(root, 'old-certificates', spec.file));
    const ceremony = await runCli(['keys', 'init'], env(other));
    expect(ceremony.code, ceremony.stderr).to.equal(0);
    expect(ceremony.stderr).to.not.include('PUBLIC_URL_MISMATCH');
    ({ child, url } = await startCli(['start'], env(other)));
    expect(url).to.equal(`http://127.0.0.1:${other}`);
    const identityCa = new X509Certificate(readFileSync(join(dataDir, 'trust', 'identity-ca.pem')));
    expect(identityCa.infoAccess).to.include(`OCSP - URI:http://127.0.0.1:${other}/ocsp`);
    const keys = (await (await fetch(`${url}/v1/audit/keys`)).json()) as { checkpoint: { keyName: string } };
    expect(keys.checkpoint.keyName, 'the origin pinned by the first start').to.equal(`127.0.0.1:${port}/audit`);
    child.kill('SIGTERM');
    expect(await exitOf(child)).to.equal(0);
  });

  it('`start --help` lists every variable of the table, REGISTO_PUBLIC_URL and HOST among them, and every role', async () => {
    const help = await runCli(['start', '--help']);
    expect(help.code).to.equal(0);
    const missing = VARIABLE_NAMES.filter((name) => !new RegExp(`^\\s+${name}\\b`, 'm').test(help.stdout));
    expect(missing).to.deep.equal([]);
    for (const text of ['REGISTO_PUBLIC_URL', 'HOST', 'sync', 'credentials', 'PUBLIC_URL_MISMATCH']) expect(help.stdout).to.include(text);
  });
});
