import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import { Readable } from 'node:stream';
import { createPublicKey, X509Certificate } from 'node:crypto';
import { ExportVerifier, type TimestampCheck, type VerificationReport } from './verifier.js';
import { RegistoError } from '@registo/schemas';

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
    const res = await fetch(exportUrl(source), { headers: token ? { authorization: `Bearer ${token}` } : {} });
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
export async function fetchPublishedKey(source: string): Promise<{ spki: Buffer; keyId: string; origin: string }> {
  const u = new URL(source);
  u.pathname = u.pathname.replace(/\/v1\/audit\/.*$/, '').replace(/\/$/, '') + '/v1/audit/keys';
  u.search = '';
  const res = await fetch(u);
  if (!res.ok) throw new RegistoError('AUDIT_EXPORT_INVALID', `${u} answered ${res.status}`);
  const body = (await res.json()) as { checkpoint: { publicKeyPem: string; keyId: string; keyName: string } };
  return { spki: readPublicKey(body.checkpoint.publicKeyPem), keyId: body.checkpoint.keyId, origin: body.checkpoint.keyName };
}

export interface VerifyOptions {
  publicKeySpki: Buffer;
  verifyTimestamp?: TimestampCheck;
  /** Bytes read so far, for a progress bar. */
  onProgress?: (bytes: number) => void;
}

/** Streams an export through the verifier: every event hash, the tree, every checkpoint. */
export async function verifyExportStream(stream: AsyncIterable<Buffer>, options: VerifyOptions): Promise<VerificationReport> {
  const verifier = new ExportVerifier({ publicKeySpki: options.publicKeySpki, verifyTimestamp: options.verifyTimestamp });
  const decoder = new StringDecoder('utf8');
  let rest = '';
  let read = 0;
  for await (const chunk of stream) {
    read += chunk.length;
    const text = rest + decoder.write(chunk);
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      verifier.line(text.slice(start, nl));
      start = nl + 1;
    }
    rest = text.slice(start);
    options.onProgress?.(read);
  }
  rest += decoder.end();
  if (rest.length > 0) verifier.line(rest);
  return verifier.finish();
}
