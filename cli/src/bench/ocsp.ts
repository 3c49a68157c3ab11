import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { measureSignRate } from '@registo/hsm';
import { buildOcspRequest, normaliseSerialHex, openTrustKeys, readOcspResponse } from '@registo/trust';
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
  /** Cores' worth of CPU the server and the load generator got (on a shared machine, less than they wanted). */
  serverCpuShare: number;
  loadGeneratorCpuShare: number;
}

const PUBLIC_URL = 'http://127.0.0.1:8080';

function serial(): string {
  const b = randomBytes(16);
  b[0] = (b[0]! & 0x7f) | 0x01;
  return normaliseSerialHex(b);
}

interface LoadSpec {
  label: string;
  method: 'GET' | 'POST';
  /** Requests sent in turn by every connection, built once (per-request set-up in the load generator would be its own bottleneck). */
  requests: Array<{ path: string; body?: Buffer }>;
}

/** autocannon's own merge of raw results (histograms added, not percentiles averaged); not in its type declarations. */
const aggregate = (autocannon as unknown as { aggregateResult(results: unknown[], opts: object): autocannon.Result }).aggregateResult;

/**
 * Runs every spec in turn, in slices of `sliceSeconds`, round after round, and merges each spec's
 * slices. On a machine shared with other work the background load changes from second to second;
 * interleaving puts each figure and its baseline under the same load.
 */
async function interleaved(
  url: string,
  specs: LoadSpec[],
  o: { concurrency: number; seconds: number; sliceSeconds: number; serverCpu: () => Promise<number> },
): Promise<Map<string, LoadResult>> {
  const rounds = Math.max(1, Math.round(o.seconds / o.sliceSeconds));
  const raw = new Map<string, unknown[]>(specs.map((s) => [s.label, []]));
  /** CPU µs used by the server process and by this one (the load generator) during each spec's slices. */
  const cpu = new Map(specs.map((s) => [s.label, { server: 0, loadGenerator: 0 }]));
  const bar = progress(`${specs.length} loads × ${rounds} slices of ${o.sliceSeconds} s`, specs.length * rounds);
  try {
    for (let round = 0; round < rounds; round++) {
      for (const spec of specs) {
        const headers = spec.method === 'POST' ? { 'content-type': 'application/ocsp-request' } : {};
        const before = { server: await o.serverCpu(), loadGenerator: process.cpuUsage() };
        const result = await autocannon({
          url,
          connections: o.concurrency,
          duration: o.sliceSeconds,
          skipAggregateResult: true,
          requests: spec.requests.map((r) => ({ method: spec.method, path: r.path, headers, ...(r.body && { body: r.body }) })),
        });
        raw.get(spec.label)!.push(result);
        const c = cpu.get(spec.label)!;
        const after = { server: await o.serverCpu(), loadGenerator: process.cpuUsage() };
        c.server += after.server - before.server;
        c.loadGenerator += after.loadGenerator.user + after.loadGenerator.system - before.loadGenerator.user - before.loadGenerator.system;
        bar.tick();
      }
    }
  } finally {
    bar.stop();
  }
  const out = new Map<string, LoadResult>();
  for (const spec of specs) {
    const merged = aggregate(raw.get(spec.label)!, { url, connections: o.concurrency });
    if (merged.errors > 0 || merged.timeouts > 0 || merged.non2xx > 0) {
      throw new Error(`${spec.label}: ${merged.errors} errors, ${merged.timeouts} timeouts, ${merged.non2xx} non-2xx answers`);
    }
    const seconds = raw.get(spec.label)!.reduce((sum: number, r) => sum + (r as { duration: number }).duration, 0);
    const c = cpu.get(spec.label)!;
    out.set(spec.label, {
      perSecond: merged.requests.total / seconds,
      p99: merged.latency.p99,
      p50: merged.latency.p50,
      requests: merged.requests.total,
      serverCpuShare: c.server / 1e6 / seconds,
      loadGeneratorCpuShare: c.loadGenerator / 1e6 / seconds,
    });
  }
  return out;
}

/** A deterministic shuffle, so that connections do not all ask about the same serials in the same order. */
function shuffled<T>(items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
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
  // The server's log lines go to stderr: stdout ends with the JSON report.
  const child = fork(fileURLToPath(new URL('./ocsp-server.js', import.meta.url)), [], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  child.stdout?.pipe(process.stderr);
  try {
    const q = ocspRequests(trust.certificates.identity_ca.der, o.serials);
    const probe = await startAndProbe(child, { dataDir, publicUrl: PUBLIC_URL, good: q.good, revoked: q.revoked }, q);
    process.stderr.write(`OCSP bench: ${q.asked.length} serials (${q.revoked.length} revoked, ${q.unknown.length} unknown), ${o.concurrency} connections, ${o.seconds} s a run; answers of ${probe.answerBytes} bytes\n`);
    const signRate = await measureSignRate(trust.signers.ocsp_signer, 2);
    const runs = await loadRuns(child, probe.base, q, o);
    const stats = await new Promise<{ stats: { requests: number; cacheHits: number; signed: number } }>((resolve) => {
      child.once('message', (m: { stats: { requests: number; cacheHits: number; signed: number } }) => resolve(m));
      child.send('stats');
    });
    process.stderr.write(`OCSP responder: ${stats.stats.requests} requests, ${stats.stats.cacheHits} from the cache, ${stats.stats.signed} signatures\n`);
    for (const [label, r] of runs) {
      process.stderr.write(`${label.padEnd(10)} ${Math.round(r.perSecond)}/s  p50 ${r.p50} ms  p99 ${r.p99} ms  server CPU ${r.serverCpuShare.toFixed(2)} cores, load generator ${r.loadGeneratorCpuShare.toFixed(2)} cores\n`);
    }
    return ocspReport(o.concurrency, runs, signRate);
  } finally {
    child.disconnect();
    await new Promise((r) => (child.exitCode !== null ? r(undefined) : child.once('exit', r)));
    await trust.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** The serials asked about (a tenth revoked, 2% unknown on top) and the requests for them in each form. */
function ocspRequests(issuerCertificateDer: Buffer, serials: number) {
  const good = Array.from({ length: serials - Math.floor(serials / 10) }, serial);
  const revoked = Array.from({ length: Math.floor(serials / 10) }, serial);
  const unknown = Array.from({ length: Math.max(1, Math.floor(serials / 50)) }, serial);
  const asked = [...good, ...revoked, ...unknown];
  const plain = asked.map((s) => buildOcspRequest({ issuerCertificateDer, serialHexes: [s] }));
  const withNonce = Array.from({ length: 1000 }, (_, i) => buildOcspRequest({ issuerCertificateDer, serialHexes: [asked[i % asked.length]!], nonceOctets: 16 }));
  const getPaths = plain.map((der) => `/ocsp/${encodeURIComponent(der.toString('base64'))}`);
  return { good, revoked, unknown, asked, plain, withNonce, getPaths };
}

type OcspRequests = ReturnType<typeof ocspRequests>;

/** Sends the server its setup, waits for its port, and checks one answer of each kind before any load. */
async function startAndProbe(child: ChildProcess, setup: OcspBenchServerSetup, q: OcspRequests): Promise<{ base: string; answerBytes: number }> {
  const ready = new Promise<number>((resolve, reject) => {
    child.once('message', (m: { port?: number; error?: string }) => (m.port ? resolve(m.port) : reject(new Error(`OCSP bench server: ${m.error}`))));
    child.once('exit', (code) => reject(new Error(`OCSP bench server exited (${code})`)));
  });
  child.send(setup);
  const base = `http://127.0.0.1:${await ready}`;
  // One request of each kind, read back with an independent decoder, before any load.
  const expected = ['good', 'revoked', 'unknown', 'good'];
  const answers = await Promise.all(
    [q.plain[0]!, q.plain[q.good.length]!, q.plain[q.asked.length - 1]!, q.withNonce[0]!].map(async (body) => {
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
}

/** The CPU time the server process has used so far, asked over IPC. */
function serverCpuOf(child: ChildProcess): () => Promise<number> {
  let cpuAsked = 0;
  return () =>
    new Promise<number>((resolve) => {
      const id = ++cpuAsked;
      const onMessage = (m: { cpu?: number; id?: number }) => {
        if (m.id === id && m.cpu !== undefined) {
          child.off('message', onMessage);
          resolve(m.cpu);
        }
      };
      child.on('message', onMessage);
      child.send({ cpu: id });
    });
}

/** A warm-up, then the fixed-body baseline and the three OCSP forms in alternating slices. */
async function loadRuns(child: ChildProcess, base: string, q: OcspRequests, o: OcspBenchOptions): Promise<Map<string, LoadResult>> {
  const serverCpu = serverCpuOf(child);
  const post = (bodies: Buffer[], path = '/ocsp') => shuffled(bodies).map((body) => ({ path, body }));
  // Warm-up (JIT, connections, the responder's cache): not measured.
  await interleaved(base, [{ label: 'warm-up', method: 'POST', requests: post(q.plain) }], { concurrency: o.concurrency, seconds: 2, sliceSeconds: 2, serverCpu });
  return interleaved(
    base,
    [
      // The baseline sends the same requests (the load generator's cost grows with the number of distinct ones).
      { label: 'fixed', method: 'POST', requests: post(q.plain, '/bench/fixed') },
      { label: 'post', method: 'POST', requests: post(q.plain) },
      { label: 'get', method: 'GET', requests: shuffled(q.getPaths).map((path) => ({ path })) },
      { label: 'nonce', method: 'POST', requests: post(q.withNonce) },
    ],
    { concurrency: o.concurrency, seconds: o.seconds, sliceSeconds: 2, serverCpu },
  );
}

function ocspReport(c: number, runs: Map<string, LoadResult>, signRate: number): BenchReport {
  const [fixed, postRun, get, nonce] = ['fixed', 'post', 'get', 'nonce'].map((l) => runs.get(l)!) as [LoadResult, LoadResult, LoadResult, LoadResult];
  return {
    bench: 'ocsp',
    results: [
      metric(`ocsp_post_requests_per_s_c${c}`, postRun.perSecond, 'req/s', `http_fixed_body_requests_per_s_c${c}`, fixed.perSecond),
      // Per second of CPU the server got: what the figures above would be with a core of its own,
      // on a machine whose other work takes a varying share.
      metric('ocsp_post_requests_per_server_cpu_s', postRun.perSecond / Math.max(postRun.serverCpuShare, 1e-6), 'req/cpu-s', 'http_fixed_body_requests_per_server_cpu_s', fixed.perSecond / Math.max(fixed.serverCpuShare, 1e-6)),
      metric('ocsp_nonce_requests_per_server_cpu_s', nonce.perSecond / Math.max(nonce.serverCpuShare, 1e-6), 'req/cpu-s', 'ocsp_signer_signatures_per_s', signRate),
      metric(`ocsp_post_p99_ms_c${c}`, postRun.p99, 'ms', `http_fixed_body_p99_ms_c${c}`, fixed.p99),
      metric(`ocsp_get_requests_per_s_c${c}`, get.perSecond, 'req/s', `http_fixed_body_requests_per_s_c${c}`, fixed.perSecond),
      metric(`ocsp_get_p99_ms_c${c}`, get.p99, 'ms', `http_fixed_body_p99_ms_c${c}`, fixed.p99),
      metric(`ocsp_nonce_requests_per_s_c${c}`, nonce.perSecond, 'req/s', 'ocsp_signer_signatures_per_s', signRate),
      metric(`ocsp_nonce_p99_ms_c${c}`, nonce.p99, 'ms', `http_fixed_body_p99_ms_c${c}`, fixed.p99),
    ],
  };
}
