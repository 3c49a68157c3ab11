import 'reflect-metadata';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import { ensureSoftHsm, initToken } from '@registo/deploy';
import { type SignerConfig, loadSignerConfig, measureSignRate } from '@registo/hsm';
import {
  type HolderCertificateRequest,
  type TrustKeys,
  createHolderCertificateIssuer,
  encodeCsr,
  issueCertificate,
  openTrustKeys,
  performKeyCeremony,
} from '@registo/trust';
import { type BenchReport, metric, progress } from './report.js';

export interface IssueBenchOptions {
  /** Certificates issued by the fast path. */
  certificates: number;
  /** Certificates issued by the generic path (slower: fewer). */
  genericCertificates: number;
  /** Distinct CSRs (keys) prepared beforehand and cycled through. */
  csrs: number;
  /** Issuances in flight. */
  concurrency: number;
  /** PKCS#11 sessions signing at once (qualified). */
  sessions: number;
  /** Worker threads checking CSRs (0: on the main thread). Default: the issuer's. */
  csrWorkers?: number;
  /** Length of the raw sign-rate run (in all, over the rounds). */
  signSeconds: number;
  /** Slices of raw signing and issuance, alternated. */
  rounds: number;
  /** Force software keys even when a token could be used. */
  software?: boolean;
}

const PUBLIC_URL = 'http://127.0.0.1:8080';

interface KeySetup {
  signer: SignerConfig;
  /** Said in the output: which keys signed. */
  keys: string;
  cleanup(): void;
}

/**
 * The keys to measure with: the configured token (REGISTO_SIGNER_MODE=qualified and its PKCS#11
 * settings), else a SoftHSM2 token set up in a temporary folder (installing SoftHSM2 when it can),
 * else software keys.
 */
async function keySetup(software: boolean): Promise<KeySetup> {
  const configured = loadSignerConfig();
  if (!software && configured.mode === 'qualified' && configured.pkcs11) {
    return { signer: configured, keys: `PKCS#11 token "${configured.pkcs11.tokenLabel}" (${configured.pkcs11.module}), qualified`, cleanup: () => undefined };
  }
  if (!software) {
    const dir = mkdtempSync(join(tmpdir(), 'registo-bench-softhsm-'));
    try {
      const hsm = await ensureSoftHsm({ dir, onProgress: (m) => process.stderr.write(`${m}\n`) });
      const token = await initToken({ label: 'registo-bench', soPin: '87654321', userPin: '1234-bench', conf: hsm.conf, module: hsm.module });
      return {
        signer: { mode: 'qualified', pkcs11: { module: token.module, tokenLabel: token.label, userPin: token.userPin, env: { SOFTHSM2_CONF: token.conf } } },
        keys: `SoftHSM2 token "registo-bench" in ${dir} (${token.module}), qualified`,
        cleanup: () => rmSync(dir, { recursive: true, force: true }),
      };
    } catch (error) {
      rmSync(dir, { recursive: true, force: true });
      process.stderr.write(`no SoftHSM2 token could be set up (${(error as Error).message}); measuring with software keys\n`);
    }
  }
  return { signer: { mode: 'non_qualified', pkcs11: null }, keys: 'software keys in this process, non_qualified', cleanup: () => undefined };
}

function prepareCsrs(count: number): Buffer[] {
  const bar = progress('holder keys and CSRs', count);
  const out: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    out.push(encodeCsr(privateKey, publicKey.export({ type: 'spki', format: 'der' })));
    bar.tick();
  }
  bar.stop();
  return out;
}

function requestFor(csrs: Buffer[], i: number, now: Date, notAfter: Date): HolderCertificateRequest {
  const serial = Buffer.alloc(8);
  serial.writeUInt32BE(0x10000000 + Math.floor(i / 2 ** 32), 0);
  serial.writeUInt32BE(i % 2 ** 32, 4);
  return { csrDer: csrs[i % csrs.length]!, uin: String(1_000_000_000 + i), credentialId: `bench-${i}`, serialNumber: serial, notBefore: now, notAfter };
}

/** Wall and CPU time (this process, all threads: the token's library and the CSR workers included) of some work. */
interface Slice {
  count: number;
  seconds: number;
  cpuSeconds: number;
}

function add(a: Slice, b: Slice): Slice {
  return { count: a.count + b.count, seconds: a.seconds + b.seconds, cpuSeconds: a.cpuSeconds + b.cpuSeconds };
}

const EMPTY: Slice = { count: 0, seconds: 0, cpuSeconds: 0 };

async function timed(count: number, work: () => Promise<void>): Promise<Slice> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  await work();
  const used = process.cpuUsage(cpu);
  return { count, seconds: (performance.now() - started) / 1000, cpuSeconds: (used.user + used.system) / 1e6 };
}

/** Operations `from` … `to - 1` with `concurrency` in flight. */
async function drive(from: number, to: number, concurrency: number, op: (i: number) => Promise<unknown>, tick: (n: number) => void): Promise<Slice> {
  let next = from;
  return timed(to - from, async () => {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        for (let i = next++; i < to; i = next++) {
          await op(i);
          if (i % 100 === 0) tick(100);
        }
      }),
    );
  });
}

/** Raw signatures for about `seconds`, one at a time (as `measureSignRate`), with the same clocks. */
async function rawSigns(signer: TrustKeys['signers']['identity_ca'], seconds: number): Promise<Slice> {
  const data = Buffer.alloc(32);
  let n = 0;
  const until = performance.now() + seconds * 1000;
  return timed(0, async () => {
    while (performance.now() < until) {
      data.writeUInt32BE(n++, 0);
      await signer.sign(data);
    }
  }).then((slice) => ({ ...slice, count: n }));
}

/**
 * `registo bench issue`: holder certificates per second from CSRs through the template issuer,
 * beside the raw ECDSA sign rate of the same CA key in the same run (one signature at a time:
 * the limit a single session sets), and the generic path (CSR parsed and verified with
 * @peculiar/x509, certificate encoded by `issueCertificate`) as a second baseline.
 */
export async function benchIssue(options: IssueBenchOptions): Promise<BenchReport & { keys: string }> {
  const setup = await keySetup(options.software === true);
  const dataDir = mkdtempSync(join(tmpdir(), 'registo-bench-issue-'));
  let trust: TrustKeys | undefined;
  try {
    process.stderr.write(`keys: ${setup.keys}\n`);
    if (setup.signer.mode === 'qualified') await performKeyCeremony({ signer: setup.signer, dataDir, publicUrl: PUBLIC_URL });
    trust = await openTrustKeys({ signer: setup.signer, dataDir, publicUrl: PUBLIC_URL, ensureSoftwareHierarchy: setup.signer.mode === 'non_qualified' });
    const csrs = prepareCsrs(options.csrs);
    const now = new Date();
    const notAfter = new Date(now.getTime() + 365 * 86_400_000);

    const issuer = await createHolderCertificateIssuer(trust, { publicUrl: PUBLIC_URL, sessions: options.sessions, ...(options.csrWorkers !== undefined && { csrWorkers: options.csrWorkers }) });
    // Raw signing and issuance alternate in slices, so that both meet the same background load.
    const rounds = Math.max(1, options.rounds);
    let raw = EMPTY;
    let fast = EMPTY;
    try {
      // Warm up (JIT, token sessions, workers) before measuring.
      for (let i = 0; i < 200; i++) await issuer.issue(requestFor(csrs, i, now, notAfter));
      await measureSignRate(trust.signers.identity_ca, 0.2);
      process.stderr.write(`${rounds} rounds: raw ECDSA signatures of the identity CA key one at a time (${options.signSeconds} s in all), then ${options.certificates} certificates in all\n`);
      const bar = progress('template issuer', options.certificates);
      const per = Math.ceil(options.certificates / rounds);
      for (let r = 0; r < rounds; r++) {
        raw = add(raw, await rawSigns(trust.signers.identity_ca, options.signSeconds / rounds));
        const from = r * per;
        const to = Math.min(options.certificates, from + per);
        fast = add(fast, await drive(from, to, options.concurrency, (i) => issuer.issue(requestFor(csrs, i, now, notAfter)), (n) => bar.tick(n)));
      }
      bar.stop();
    } finally {
      await issuer.close();
    }
    const rawSignRate = raw.count / raw.seconds;
    const fastRate = fast.count / fast.seconds;

    const reference = await createHolderCertificateIssuer(trust, { publicUrl: PUBLIC_URL, sessions: 1, csrWorkers: 0 });
    let genericRate: number;
    try {
      const bar = progress('generic issueCertificate', options.genericCertificates);
      const slice = await drive(0, options.genericCertificates, options.concurrency, async (i) => {
        const request = requestFor(csrs, i, now, notAfter);
        const csr = new x509.Pkcs10CertificateRequest(request.csrDer);
        if (!(await csr.verify())) throw new Error('CSR signature does not verify');
        await issueCertificate(reference.referenceOptions(request, Buffer.from(csr.publicKey.rawData)));
      }, (n) => bar.tick(n));
      bar.stop();
      genericRate = slice.count / slice.seconds;
    } finally {
      await reference.close();
    }

    const which = setup.signer.mode === 'qualified' ? 'token' : 'software';
    return {
      bench: 'issue',
      keys: setup.keys,
      results: [
        metric('holder_certificates_per_second', fastRate, 'certs/s', `raw_sign_per_second_${which}`, rawSignRate),
        metric('generic_issue_per_second', genericRate, 'certs/s', `raw_sign_per_second_${which}`, rawSignRate),
        metric('template_vs_generic', fastRate, 'certs/s', 'generic_issue_per_second', genericRate),
        // Per CPU second this process got: what the work costs, whatever else the machine runs.
        metric('holder_certificates_per_cpu_second', fast.count / fast.cpuSeconds, 'certs/cpu-s', `raw_sign_per_cpu_second_${which}`, raw.count / raw.cpuSeconds),
      ],
    };
  } finally {
    await trust?.close();
    rmSync(dataDir, { recursive: true, force: true });
    setup.cleanup();
  }
}
