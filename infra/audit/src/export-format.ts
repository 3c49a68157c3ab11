import { hash as oneShot } from 'node:crypto';
import { z } from 'zod';
import { type EventEnvelope, RegistoError, hashInput } from '@registo/schemas';

/*
 * The audit export (NDJSON, one JSON object a line; docs/audit.md):
 *
 *   {"kind":"registo-audit-export","version":1,"origin":…,"from":F,"to":T,"prefix":{"size":F-1,"edge":[hex…]}}
 *   {"position":P,"hash":"<hex>","leafHash":"<hex>","event":<leaf data>}      one per event, F…T
 *   {"kind":"checkpoint","treeSize":S,"position":Q,"note":"…","timestampToken":"<base64>"|null}
 *
 * `event` is written as the leaf data itself (the canonical JSON the hash is over), so a verifier
 * hashes the bytes it reads. `prefix.edge` is the compact range of the tree before F (empty when
 * F = 1): unauthenticated on its own, it lets roots of sizes ≥ F−1 be recomputed, and a wrong
 * one shows up as a checkpoint root that does not match. Trailing checkpoint lines carry the
 * checkpoints whose events lie after T but whose tree sizes fall inside the export.
 */

export const EXPORT_KIND = 'registo-audit-export';
export const EXPORT_VERSION = 1;

export interface ExportHeader {
  kind: typeof EXPORT_KIND;
  version: number;
  origin: string;
  from: number;
  to: number;
  prefix: { size: number; edge: string[] };
  exportedAt: string;
}

export interface ExportCheckpoint {
  kind: 'checkpoint';
  treeSize: number;
  position: number;
  note: string;
  timestampToken: string | null;
}

export function exportEventLine(event: EventEnvelope, leafHash: Buffer): string {
  return `{"position":${event.position},"hash":"${event.hash}","leafHash":"${leafHash.toString('hex')}","event":${hashInput(event)}}`;
}

const EVENT_LINE = /^\{"position":([1-9][0-9]{0,15}),"hash":"([0-9a-f]{64})","leafHash":"([0-9a-f]{64})","event":/;

export interface ExportEventLine {
  position: number;
  hash: string;
  leafHash: string;
  /** The leaf data, verbatim. */
  event: string;
}

/** Splits an event line without parsing the event (null if the line is not an event line). */
export function splitEventLine(line: string): ExportEventLine | null {
  const m = EVENT_LINE.exec(line);
  if (!m || line.charCodeAt(line.length - 1) !== 125 /* } */) return null;
  return { position: Number(m[1]), hash: m[2]!, leafHash: m[3]!, event: line.slice(m[0].length, -1) };
}

const HEX64 = /^[0-9a-f]{64}$/;
const HeaderLine = z.object({
  kind: z.literal(EXPORT_KIND),
  version: z.number(),
  origin: z.string().min(1),
  from: z.number().int().min(1),
  to: z.number().int().min(0),
  prefix: z.object({ size: z.number().int().min(0), edge: z.array(z.string().regex(HEX64)) }),
  exportedAt: z.string(),
});
const CheckpointLine = z.object({
  kind: z.literal('checkpoint'),
  treeSize: z.number().int().min(0),
  position: z.number().int().min(1),
  note: z.string(),
  timestampToken: z.string().nullable(),
});

/** A header or trailing checkpoint line, read and checked (AUDIT_EXPORT_INVALID otherwise). */
export function parseOtherLine(line: string, lineNumber: number): ExportHeader | ExportCheckpoint {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    throw new RegistoError('AUDIT_EXPORT_INVALID', `line ${lineNumber} is not JSON`, { line: lineNumber });
  }
  const header = HeaderLine.safeParse(v);
  if (header.success) return header.data;
  const checkpoint = CheckpointLine.safeParse(v);
  if (checkpoint.success) return checkpoint.data;
  const kind = typeof v === 'object' && v !== null && 'kind' in v ? v.kind : undefined;
  const what = kind === EXPORT_KIND ? 'a header with a field missing or malformed' : kind === 'checkpoint' ? 'a checkpoint line with a field missing or malformed' : 'neither an event, a header nor a checkpoint';
  throw new RegistoError('AUDIT_EXPORT_INVALID', `line ${lineNumber} is ${what}`, { line: lineNumber });
}

// Keys of the canonical JSON are sorted: `type` is the last member of the envelope.
export const CHECKPOINT_TAIL = Buffer.from('"type":"CheckpointSigned"}');

const P = (s: string): Buffer => Buffer.from(s, 'latin1');
const L_POSITION = P('{"position":');
const L_HASH = P(',"hash":"');
const L_LEAF = P('","leafHash":"');
const L_EVENT = P('","event":');
/** True when `tag` is at `offset` (a plain loop: the tags are a dozen bytes, a native call costs more). */
function at(buf: Buffer, tag: Buffer, offset: number, end: number): boolean {
  if (offset + tag.length > end) return false;
  for (let k = 0; k < tag.length; k++) if (buf[offset + k] !== tag[k]) return false;
  return true;
}

/**
 * The offsets of an event line's parts, or null when the bytes are not one (docs/audit.md, export
 * format). The two hashes are not checked for being hex here: one that is not can never equal a
 * recomputed hash, so it is reported as a mismatch where it stands.
 */
export function matchEventLine(buf: Buffer, start: number, end: number): { position: number; hashStart: number; leafStart: number; bodyStart: number } | null {
  if (!at(buf, L_POSITION, start, end)) return null;
  let i = start + L_POSITION.length;
  let position = 0;
  const first = i;
  while (i < end && buf[i]! >= 48 && buf[i]! <= 57 && i - first < 16) position = position * 10 + (buf[i++]! - 48);
  if (i === first || buf[first] === 48 || !at(buf, L_HASH, i, end)) return null;
  const hashStart = i + L_HASH.length;
  const leafTag = hashStart + 64;
  if (!at(buf, L_LEAF, leafTag, end)) return null;
  const leafStart = leafTag + L_LEAF.length;
  if (!at(buf, L_EVENT, leafStart + 64, end)) return null;
  if (buf[end - 1] !== 125) return null;
  return { position, hashStart, leafStart, bodyStart: leafStart + 64 + L_EVENT.length };
}

export interface CheckedEventLine {
  /** The event's bytes as they stand in the line (its leaf data). */
  body: Buffer;
  /** The leaf hash recomputed from `body`. */
  leaf: Buffer;
  /** The line's event hash equals SHA-256 of `body`. */
  hashOk: boolean;
  /** The line's leaf hash equals `leaf`. */
  leafOk: boolean;
  /**
   * The leaf hash the line says the tree recorded (= `leaf` when they agree; `leaf` again when the
   * claim is not 64 hex digits). The verifier builds its tree from these: the signed roots vouch
   * for them, and `leafOk` ties the bytes to them, so a changed event is found at its own position
   * and does not make every later root differ.
   */
  recorded: Buffer;
  /** The event is a CheckpointSigned one (its body is parsed as a checkpoint). */
  isCheckpoint: boolean;
}

// 0x00 ‖ leaf data is hashed from here, so a leaf costs no allocation but its hash; byte 0 stays 0.
let leafScratch = Buffer.alloc(4096);

/**
 * Recomputes an event line's event hash and leaf hash where its bytes lie (`m` from
 * `matchEventLine` over [.., end)) and says whether they match what the line claims: the one
 * check the verifier makes on the main thread and in its worker threads alike.
 */
export function checkEventLine(buf: Buffer, m: { hashStart: number; leafStart: number; bodyStart: number }, end: number): CheckedEventLine {
  const body = buf.subarray(m.bodyStart, end - 1);
  const hashOk = oneShot('sha256', body, 'hex') === buf.toString('latin1', m.hashStart, m.hashStart + 64);
  if (leafScratch.length < body.length + 1) leafScratch = Buffer.alloc(Math.max(body.length + 1, leafScratch.length * 2));
  body.copy(leafScratch, 1);
  const leaf = oneShot('sha256', leafScratch.subarray(0, body.length + 1), 'buffer') as Buffer;
  const claimed = buf.toString('latin1', m.leafStart, m.leafStart + 64);
  const leafOk = leaf.toString('hex') === claimed;
  const isCheckpoint = body.length > CHECKPOINT_TAIL.length && body.subarray(body.length - CHECKPOINT_TAIL.length).equals(CHECKPOINT_TAIL);
  return { body, leaf, hashOk, leafOk, recorded: leafOk ? leaf : recordedLeaf(claimed, leaf), isCheckpoint };
}

/** The leaf hash an export line claims, decoded; `fallback` when it is not 64 hex digits. */
export function recordedLeaf(claimedHex: string, fallback: Buffer): Buffer {
  return /^[0-9a-f]{64}$/.test(claimedHex) ? Buffer.from(claimedHex, 'hex') : fallback;
}
