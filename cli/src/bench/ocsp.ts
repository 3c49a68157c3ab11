import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { buildOcspRequest, measureSignRate, normaliseSerialHex, openTrustKeys, readOcspResponse } from '@registo/infra';
import type { OcspBenchServerSetup } from './ocsp-server.js';
import { type BenchReport, metric, progress } from './report.js';

export interface OcspBenchOptions {
  concurrency: number;
  /** Length of each measured run. */
  seconds: number;
  /** Certificates asked about (a tenth of them revoked, and a few unknown serials on top). */
  serials: number;
}

interface LoadResult {
  perSecond: number;
  p99: number;
  p50: number;
  requests: number;
}

const PUBLIC_URL = 'http://127.0.0.1:8080';

function serial(): string {
  const b = randomBytes(16);
  b[0] = (b[0]! & 0x7f) | 0x01;
  return normaliseSerialHex(b);
}

async function load(label: string, url: string, o: { concurrency: number; seconds: number; path: (i: number) => string; body?: (i: number) => Buffer; method: 'GET' | 'POST' }): Promise<LoadResult> {
  const bar = progress(label, o.seconds);
  const tick = setInterval(() => bar.tick(), 1000);
  let i = 0;
  try {
    const result = await autocannon({
      url,
      connections: o.concurrency,
      duration: o.seconds,
      requests: [
        {
          method: o.method,
          headers: o.method === 'POST' ? { 'content-type': 'application/ocsp-request' } : {},
          setupRequest: (request) => {
            const n = i++;
            return { ...request, path: o.path(n), ...(o.body && { body: o.body(n) }) };
          },
        },
      ],
    });
    if (result.errors > 0 || result.timeouts > 0 || result.non2xx > 0) {
      throw new Error(`${label}: ${result.errors} errors, ${result.timeouts} timeouts, ${result.non2xx} non-2xx answers`);
    }
    return { perSecond: result.requests.total / (result.duration || o.seconds), p99: result.latency.p99, p50: result.latency.p50, requests: result.requests.total };
  } finally {
    clearInterval(tick);
    bar.stop();
  }
}

/**
 * OCSP over HTTP at a given concurrency, the server in a child process: requests without a nonce
 * (answered from the responder's cache), with a nonce (signed each time) and in the GET form;
 * beside the same server answering a fixed body of the same size (the HTTP stack's limit) and the
 * OCSP signer's raw signing rate, all measured in the same run.
 */
export async function benchOcsp(o: OcspBenchOptions): Promise<BenchReport> {
  const dataDir = mkdtempSync(join(tmpdir(), 'registo-bench-ocsp-'));
  const trust = await openTrustKeys({ signer: { mode: 'non_qualified', pkcs11: null }, dataDir, publicUrl: PUBLIC_URL, ensureSoftwareHierarchy: true });
  const child = fork(fileURLToPath(new URL('./ocsp-server.js', import.meta.url)), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    const good = Array.from({ length: o.serials - Math.floor(o.serials / 10) }, serial);
    const revoked = Array.from({ length: Math.floor(o.serials / 10) }, serial);
    const unknown = Array.from({ length: Math.max(1, Math.floor(o.serials / 50)) }, serial);
    const asked = [...good, ...revoked, ...unknown];
    const issuerCertificateDer = trust.certificates.identity_ca.der;
    const plain = asked.map((s) => buildOcspRequest({ issuerCertificateDer, serialHexes: [s] }));
    const withNonce = Array.from({ length: 5000 }, (_, i) => buildOcspRequest({ issuerCertificateDer, serialHexes: [asked[i % asked.length]!], nonceOctets: 16 }));
    const getPaths = plain.map((der) => `/ocsp/${encodeURIComponent(der.toString('base64'))}`);

    const ready = new Promise<number>((resolve, reject) => {
      child.once('message', (m: { port?: number; error?: string }) => (m.port ? resolve(m.port) : reject(new Error(`OCSP bench server: ${m.error}`))));
      child.once('exit', (code) => reject(new Error(`OCSP bench server exited (${code})`)));
    });
    const setup: OcspBenchServerSetup = { dataDir, publicUrl: PUBLIC_URL, good, revoked };
    const probe = await (async () => {
      child.send(setup);
      const port = await ready;
      const base = `http://127.0.0.1:${port}`;
      // One request of each kind, read back with an independent decoder, before any load.
      const expected = ['good', 'revoked', 'unknown', 'good'];
      const answers = await Promise.all(
        [plain[0]!, plain[good.length]!, plain[asked.length - 1]!, withNonce[0]!].map(async (body) => {
          const res = await fetch(`${base}/ocsp`, { method: 'POST', headers: { 'content-type': 'application/ocsp-request' }, body });
          return Buffer.from(await res.arrayBuffer());
        }),
      );
      answers.forEach((der, i) => {
        const read = readOcspResponse(der);
        if (read.responseStatus !== 'successful' || !read.signatureValid || read.answers[0]?.status.status !== expected[i]) {
          throw new Error(`the OCSP bench server answered ${JSON.stringify(read)}; expected ${expected[i]}`);
        }
      });
      return { base, answerBytes: answers[0]!.length };
    })();
    const { base } = probe;

    process.stderr.write(`OCSP bench: ${asked.length} serials (${revoked.length} revoked, ${unknown.length} unknown), ${o.concurrency} connections, ${o.seconds} s a run; answers of ${probe.answerBytes} bytes\n`);
    const signRate = await measureSignRate(trust.signers.ocsp_signer, 2);

    const opts = { concurrency: o.concurrency, seconds: o.seconds };
    // Warm-up (JIT, connection set-up, the responder's cache): not measured.
    await load('warm-up', base, { ...opts, seconds: 2, method: 'POST', path: () => '/ocsp', body: (i) => plain[i % plain.length]! });
    const fixedBody = plain[0]!;
    const fixed = await load('baseline: fixed body', base, { ...opts, method: 'POST', path: () => '/bench/fixed', body: () => fixedBody });
    const post = await load('OCSP POST, no nonce', base, { ...opts, method: 'POST', path: () => '/ocsp', body: (i) => plain[Math.floor(Math.random() * plain.length)]! });
    const get = await load('OCSP GET, no nonce', base, { ...opts, method: 'GET', path: () => getPaths[Math.floor(Math.random() * getPaths.length)]! });
    const nonce = await load('OCSP POST, nonce', base, { ...opts, method: 'POST', path: () => '/ocsp', body: (i) => withNonce[i % withNonce.length]! });

    const stats = await new Promise<{ stats: { requests: number; cacheHits: number; signed: number } }>((resolve) => {
      child.once('message', (m: { stats: { requests: number; cacheHits: number; signed: number } }) => resolve(m));
      child.send('stats');
    });
    process.stderr.write(`OCSP responder: ${stats.stats.requests} requests, ${stats.stats.cacheHits} from the cache, ${stats.stats.signed} signatures\n`);
    process.stderr.write(`p50: fixed ${fixed.p50} ms, POST ${post.p50} ms, GET ${get.p50} ms, nonce ${nonce.p50} ms\n`);

    return {
      bench: 'ocsp',
      results: [
        metric(`ocsp_post_requests_per_s_c${o.concurrency}`, post.perSecond, 'req/s', `http_fixed_body_requests_per_s_c${o.concurrency}`, fixed.perSecond),
        metric(`ocsp_post_p99_ms_c${o.concurrency}`, post.p99, 'ms', `http_fixed_body_p99_ms_c${o.concurrency}`, fixed.p99),
        metric(`ocsp_get_requests_per_s_c${o.concurrency}`, get.perSecond, 'req/s', `http_fixed_body_requests_per_s_c${o.concurrency}`, fixed.perSecond),
        metric(`ocsp_get_p99_ms_c${o.concurrency}`, get.p99, 'ms', `http_fixed_body_p99_ms_c${o.concurrency}`, fixed.p99),
        metric(`ocsp_nonce_requests_per_s_c${o.concurrency}`, nonce.perSecond, 'req/s', 'ocsp_signer_signatures_per_s', signRate),
        metric(`ocsp_nonce_p99_ms_c${o.concurrency}`, nonce.p99, 'ms', `http_fixed_body_p99_ms_c${o.concurrency}`, fixed.p99),
      ],
    };
  } finally {
    child.disconnect();
    await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
    await trust.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
