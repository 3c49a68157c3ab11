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

export function parseOtherLine(line: string, lineNumber: number): ExportHeader | ExportCheckpoint {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    throw new RegistoError('AUDIT_EXPORT_INVALID', `line ${lineNumber} is not JSON`, { line: lineNumber });
  }
  const o = v as Record<string, unknown>;
  if (o?.kind === EXPORT_KIND) return o as unknown as ExportHeader;
  if (o?.kind === 'checkpoint' && typeof o.note === 'string' && Number.isSafeInteger(o.treeSize)) return o as unknown as ExportCheckpoint;
  throw new RegistoError('AUDIT_EXPORT_INVALID', `line ${lineNumber} is neither an event, a header nor a checkpoint`, { line: lineNumber });
}
