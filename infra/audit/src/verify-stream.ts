import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { createPublicKey, X509Certificate } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { HashedBlock } from './hash-worker.js';
import { type EarlierRoot, ExportVerifier, type TimestampCheck, type VerificationReport } from './verifier.js';
import { z } from 'zod';
import { RegistoError } from '@registo/schemas';
import { fetchPlatform } from '@registo/base';

/** Where an export comes from: a file, or the auditor API (`…/v1/audit/export`, or the platform's base URL). */
export interface ExportSource {
  stream: AsyncIterable<Buffer>;
  /** Bytes, when known (for the progress bar). */
  bytes: number | null;
}

export function exportUrl(source: string): string {
  const u = new URL(source);
  if (!u.pathname.includes('/v1/audit/export')) u.pathname = `${u.pathname.replace(/\/$/, '')}/v1/audit/export`;
  return u.toString();
}

export async function openExport(source: string, token?: string): Promise<ExportSource> {
  if (/^https?:\/\//.test(source)) {
    const res = await fetchPlatform(exportUrl(source), { headers: token ? { authorization: `Bearer ${token}` } : {} });
    if (!res.ok || !res.body) throw new RegistoError('AUDIT_EXPORT_INVALID', `${exportUrl(source)} answered ${res.status}: ${(await res.text()).slice(0, 300)}`, { status: res.status });
    const length = Number(res.headers.get('content-length') ?? NaN);
    return { stream: Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>), bytes: Number.isFinite(length) ? length : null };
  }
  const info = await stat(source).catch(() => {
    throw new RegistoError('AUDIT_EXPORT_INVALID', `no export file ${source}`, { file: source });
  });
  return { stream: createReadStream(source, { highWaterMark: 1 << 20 }), bytes: info.size };
}

/** The checkpoint key as DER SPKI from a PEM public key or certificate. */
export function readPublicKey(pem: string): Buffer {
  try {
    const key = pem.includes('BEGIN CERTIFICATE') ? new X509Certificate(pem).publicKey : createPublicKey(pem);
    return key.export({ type: 'spki', format: 'der' });
  } catch (e) {
    throw new RegistoError('CONFIG_INVALID', `the public key is not a PEM public key or certificate: ${(e as Error).message}`);
  }
}

/** The public key the auditor API publishes (trust on first use: the caller should compare its key ID). */
export async function fetchPublishedKey(source: string): Promise<{ spki: Buffer; keyId: string; origin: string; tsaCertificatePem: string | null; issuerPem: string | null }> {
  const u = new URL(source);
  u.pathname = u.pathname.replace(/\/v1\/audit\/.*$/, '').replace(/\/$/, '') + '/v1/audit/keys';
  u.search = '';
  const res = await fetchPlatform(u);
  if (!res.ok) throw new RegistoError('AUDIT_EXPORT_INVALID', `${u} answered ${res.status}`);
  const body = (await res.json()) as { checkpoint: { publicKeyPem: string; keyId: string; keyName: string }; timestamping: { certificatePem: string } | null; caCertificatePems: string[] };
  return {
    spki: readPublicKey(body.checkpoint.publicKeyPem),
    keyId: body.checkpoint.keyId,
    origin: body.checkpoint.keyName,
    tsaCertificatePem: body.timestamping?.certificatePem ?? null,
    issuerPem: body.caCertificatePems?.[0] ?? null,
  };
}

const ConsistencyAnswer = z.object({ firstRootHash: z.string().regex(/^[0-9a-f]{64}$/), proof: z.array(z.string().regex(/^[0-9a-f]{64}$/)) });

/**
 * The platform's roots at earlier sizes, each with its consistency proof, from its public
 * `/v1/audit/proofs/consistency` (`source`: the platform's base URL or any of its /v1/audit URLs).
 * The verifier uses an answer only when its proof verifies against a signed root.
 */
export function platformRoots(source: string): EarlierRoot {
  const base = new URL(source);
  base.pathname = `${base.pathname.replace(/\/v1\/audit\/.*$/, '').replace(/\/$/, '')}/v1/audit/proofs/consistency`;
  base.search = '';
  return async (size, signedSize) => {
    const u = new URL(base);
    u.searchParams.set('from', String(size));
    u.searchParams.set('to', String(signedSize));
    const res = await fetchPlatform(u);
    if (!res.ok) return null;
    const answer = ConsistencyAnswer.safeParse(await res.json().catch(() => null));
    if (!answer.success) return null;
    return { root: Buffer.from(answer.data.firstRootHash, 'hex'), proof: answer.data.proof.map((h) => Buffer.from(h, 'hex')) };
  };
}

export interface VerifyOptions {
  publicKeySpki: Buffer;
  /** The log's origin (the key's note name), when the auditor pins it (VerifierOptions.origin). */
  origin?: string;
  verifyTimestamp?: TimestampCheck;
  /** Findings listed in the report (VerifierOptions.maxFindings); every one is counted. */
  maxFindings?: number;
  /** Consistency proofs to bisect a signed root that differs (VerifierOptions.earlierRoot; `platformRoots`). */
  earlierRoot?: EarlierRoot;
  /** Bytes read so far, for a progress bar. */
  onProgress?: (bytes: number) => void;
  /**
   * Worker threads that do the hashing (default 0: this thread). They pay off only with idle cores:
   * on the 2-core development machine, shared with other work, one thread was faster.
   */
  workers?: number;
}

/** Streams an export through the verifier: every event hash, the tree, every checkpoint. */
export async function verifyExportStream(stream: AsyncIterable<Buffer>, options: VerifyOptions): Promise<VerificationReport> {
  const verifier = new ExportVerifier({ publicKeySpki: options.publicKeySpki, origin: options.origin, verifyTimestamp: options.verifyTimestamp, maxFindings: options.maxFindings, earlierRoot: options.earlierRoot });
  const workers = Math.min(options.workers ?? 0, availableParallelism());
  if (workers > 0) return verifyInParallel(stream, verifier, workers, options);
  // Lines are found in the bytes and event lines checked where they lie: no text is decoded
  // except for header, checkpoint and CheckpointSigned lines.
  let rest: Buffer | null = null;
  let read = 0;
  for await (const chunk of stream) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
    read += buf.length;
    let start = 0;
    let nl = buf.indexOf(10);
    if (rest && nl >= 0) {
      const line = Buffer.concat([rest, buf.subarray(0, nl)]);
      verifier.lineBytes(line, 0, line.length);
      rest = null;
      start = nl + 1;
      nl = buf.indexOf(10, start);
    }
    for (; nl >= 0; nl = buf.indexOf(10, start)) {
      if (nl > start) verifier.lineBytes(buf, start, nl);
      start = nl + 1;
    }
    if (start < buf.length) rest = rest ? Buffer.concat([rest, buf.subarray(start)]) : Buffer.from(buf.subarray(start));
    options.onProgress?.(read);
  }
  if (rest && rest.length > 0) verifier.lineBytes(rest, 0, rest.length);
  return verifier.finish();
}

/**
 * The same, with the hashing (two SHA-256 per event, the whole cost) spread over worker threads:
 * blocks of whole lines go out in turn, and their results are applied in the order they were read.
 */
async function verifyInParallel(stream: AsyncIterable<Buffer>, verifier: ExportVerifier, count: number, options: VerifyOptions): Promise<VerificationReport> {
  const pool = Array.from({ length: count }, () => new Worker(new URL('./hash-worker.js', import.meta.url)));
  const waiting = new Map<number, (r: HashedBlock) => void>();
  let failure: Error | null = null;
  for (const w of pool) {
    w.on('message', (r: HashedBlock) => waiting.get(r.id)?.(r));
    w.on('error', (e) => (failure = e));
  }
  const inFlight: Array<Promise<HashedBlock>> = [];
  let nextId = 0;
  const send = (block: Buffer): void => {
    const id = nextId++;
    const ab = new ArrayBuffer(block.length);
    block.copy(Buffer.from(ab));
    inFlight.push(new Promise((resolve) => waiting.set(id, resolve)));
    pool[id % pool.length]!.postMessage({ id, buf: ab }, [ab]);
  };
  const apply = (r: HashedBlock): void => {
    waiting.delete(r.id);
    let e = 0;
    let t = 0;
    for (const kind of r.kinds) {
      if (kind === 1) {
        verifier.line(r.texts[t++]!);
        continue;
      }
      const flags = r.flags[e]!;
      verifier.hashedEvent(r.positions[e]!, Buffer.from(r.leaves.buffer, r.leaves.byteOffset + e * 32, 32), (flags & 1) === 1, (flags & 2) === 2, kind === 2 ? r.texts[t++]! : null);
      e++;
    }
  };
  try {
    let rest: Buffer | null = null;
    let read = 0;
    for await (const chunk of stream) {
      if (failure) throw failure;
      const buf: Buffer = rest ? Buffer.concat([rest, chunk]) : Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
      read += chunk.length;
      const last = buf.lastIndexOf(10);
      if (last < 0) {
        rest = buf;
        continue;
      }
      send(buf.subarray(0, last + 1));
      rest = last + 1 < buf.length ? Buffer.from(buf.subarray(last + 1)) : null;
      // Keep at most two blocks per thread in flight; apply finished ones in order.
      while (inFlight.length >= pool.length * 2) apply(await inFlight.shift()!);
      options.onProgress?.(read);
    }
    if (rest && rest.length > 0) send(rest);
    while (inFlight.length > 0) apply(await inFlight.shift()!);
    if (failure) throw failure;
    return await verifier.finish();
  } finally {
    await Promise.all(pool.map((w) => w.terminate()));
  }
}
