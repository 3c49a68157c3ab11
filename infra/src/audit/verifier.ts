import { hash as oneShot } from 'node:crypto';
import { type AuditEventData, type EventEnvelope, RegistoError } from '@registo/schemas';
import { type ExportCheckpoint, type ExportHeader, EXPORT_KIND, checkEventLine, matchEventLine, parseOtherLine, splitEventLine } from './export-format.js';
import { MemoryTree, hashLeafText, verifyConsistency } from './merkle.js';
import { PREVIOUS_EXTENSION, SIGNER_MODE_EXTENSION, extensionValue, noteDigest, parseCheckpointBody, parseNote, verifyNoteSignature } from './note.js';

/*
 * Offline verification of an audit export (docs/audit.md), one line at a time so that a log of
 * any size streams through: every event's hash is recomputed from its bytes, every leaf hash
 * from them too, the tree is rebuilt, and every checkpoint in the export (CheckpointSigned events
 * and trailing checkpoint lines) must be signed by the checkpoint key, chained to the one before,
 * timestamped over its note (when a timestamp verifier is given), have the root of the rebuilt
 * tree at its size, and be consistent with the checkpoint before it.
 */

export interface Finding {
  /** The first position the problem is at (for a checkpoint: the first position it could be at). */
  position: number;
  /** Its last possible position, when the check can only narrow it to a range. */
  through?: number;
  check: 'sequence' | 'event-hash' | 'leaf-hash' | 'checkpoint-signature' | 'checkpoint-root' | 'checkpoint-chain' | 'checkpoint-timestamp' | 'checkpoint-format' | 'consistency' | 'export';
  message: string;
}

export interface TimestampCheck {
  /** Throws (or returns false) unless `token` is a valid RFC 3161 token over `digest`. */
  (token: Buffer, digest: Buffer): boolean | Promise<boolean>;
}

export interface VerifierOptions {
  /** The checkpoint key, DER SubjectPublicKeyInfo; the note key name is each checkpoint's origin unless `origin` is given. */
  publicKeySpki: Buffer;
  origin?: string;
  verifyTimestamp?: TimestampCheck;
  /** Stop collecting findings after this many (default 20). */
  maxFindings?: number;
}

export interface VerificationReport {
  ok: boolean;
  from: number;
  to: number;
  events: number;
  checkpoints: number;
  /** Checkpoints whose size lies before the export's first position: their roots could not be recomputed. */
  checkpointsUnchecked: number;
  timestampsVerified: number;
  /** Positions after the last verified checkpoint: complete and hashed, but signed by nothing yet. */
  uncoveredAfter: number;
  findings: Finding[];
}

type CheckpointSigned = AuditEventData['CheckpointSigned'];

interface PendingCheckpoint {
  at: number;
  data: Pick<CheckpointSigned, 'treeSize' | 'note' | 'timestampToken'> & Partial<CheckpointSigned>;
}

export class ExportVerifier {
  private header: ExportHeader | null = null;
  private tree: MemoryTree | null = null;
  private nextPosition = 1;
  private lineNumber = 0;
  private events = 0;
  private readonly findings: Finding[] = [];
  private checkpoints = 0;
  private unchecked = 0;
  private timestamps = 0;
  private previous: { treeSize: number; noteSha256: string; root: Buffer } | null = null;
  private coveredTo = 0;
  private readonly pending: PendingCheckpoint[] = [];
  private readonly timestampChecks: Array<Promise<void>> = [];

  constructor(private readonly options: VerifierOptions) {}

  private find(f: Finding): void {
    if (this.findings.length < (this.options.maxFindings ?? 20)) this.findings.push(f);
  }

  get firstFinding(): Finding | undefined {
    return this.findings[0];
  }

  /** One line of the export (without its newline). */
  line(text: string): void {
    this.lineNumber++;
    if (text.length === 0) return;
    const ev = splitEventLine(text);
    if (ev) return this.event(ev.position, ev.hash, ev.leafHash, ev.event);
    const other = parseOtherLine(text, this.lineNumber);
    if (other.kind === EXPORT_KIND) return this.start(other);
    this.requireHeader();
    this.pending.push({ at: this.nextPosition, data: other as ExportCheckpoint });
  }

  private requireHeader(): void {
    if (!this.header) throw new RegistoError('AUDIT_EXPORT_INVALID', `line ${this.lineNumber}: the export does not start with its header line`, { line: this.lineNumber });
  }

  private start(h: ExportHeader): void {
    if (this.header) throw new RegistoError('AUDIT_EXPORT_INVALID', `line ${this.lineNumber}: a second header`, { line: this.lineNumber });
    if (h.version !== 1 || !Number.isSafeInteger(h.from) || h.from < 1 || h.prefix?.size !== h.from - 1) {
      throw new RegistoError('AUDIT_EXPORT_INVALID', 'the header is not a version 1 header with a prefix of size from − 1', {});
    }
    this.header = h;
    this.nextPosition = h.from;
    this.tree = h.from === 1 ? new MemoryTree() : new MemoryTree({ size: h.from - 1, edge: h.prefix.edge.map((e) => Buffer.from(e, 'hex')) });
  }

  /**
   * One line given as bytes [start, end) of `buf` (without its newline): the fast path. An event
   * line is split by its fixed layout and its event bytes hashed where they lie; anything else
   * goes through `line`.
   */
  lineBytes(buf: Buffer, start: number, end: number): void {
    const m = matchEventLine(buf, start, end);
    if (!m) return this.line(buf.toString('utf8', start, end));
    const { body, leaf, hashOk, leafOk, isCheckpoint } = checkEventLine(buf, m, end);
    this.hashedEvent(m.position, leaf, hashOk, leafOk, isCheckpoint ? body.toString('utf8') : null);
  }

  /** An event line whose hashes were computed elsewhere (a worker thread): `leaf` is the recomputed leaf hash. */
  hashedEvent(position: number, leaf: Buffer, hashOk: boolean, leafOk: boolean, checkpointBody: string | null): void {
    this.lineNumber++;
    this.requireHeader();
    this.checkPending();
    this.sequence(position);
    if (!hashOk) this.find({ position, check: 'event-hash', message: `event ${position} does not match its hash (its content was changed)` });
    if (!leafOk) this.find({ position, check: 'leaf-hash', message: `event ${position} is not the leaf the tree holds at that position` });
    this.tree!.append(leaf);
    this.events++;
    if (checkpointBody !== null) {
      const event = JSON.parse(checkpointBody) as EventEnvelope<CheckpointSigned>;
      this.pending.push({ at: position, data: event.data });
    }
  }

  private sequence(position: number): void {
    if (position !== this.nextPosition) {
      this.find({
        position: Math.min(position, this.nextPosition),
        check: 'sequence',
        message: position > this.nextPosition ? `position ${this.nextPosition}${position - 1 > this.nextPosition ? `–${position - 1}` : ''} missing (next event is ${position})` : `position ${position} out of order (expected ${this.nextPosition})`,
      });
    }
    this.nextPosition = Math.max(this.nextPosition, position) + 1;
  }

  private event(position: number, hash: string, leafHash: string, body: string): void {
    this.requireHeader();
    this.checkPending();
    this.sequence(position);
    const computed = oneShot('sha256', body, 'hex');
    if (computed !== hash) this.find({ position, check: 'event-hash', message: `event ${position} does not match its hash (its content was changed)` });
    const leaf = hashLeafText(body);
    if (leaf.toString('hex') !== leafHash) this.find({ position, check: 'leaf-hash', message: `event ${position} is not the leaf the tree holds at that position` });
    this.tree!.append(leaf);
    this.events++;
    // Keys of the canonical JSON are sorted: `type` is the last member of the envelope.
    if (body.endsWith('"type":"CheckpointSigned"}')) {
      const event = JSON.parse(body) as EventEnvelope<CheckpointSigned>;
      this.pending.push({ at: position, data: event.data });
    }
  }

  /** Checks every pending checkpoint whose tree size the rebuilt tree has reached. */
  private checkPending(final = false): void {
    while (this.pending.length > 0 && (final || this.pending[0]!.data.treeSize <= this.tree!.size)) {
      this.checkpoint(this.pending.shift()!);
    }
  }

  private checkpoint(p: PendingCheckpoint): void {
    this.checkpoints++;
    const { data } = p;
    const from = this.previous ? this.previous.treeSize + 1 : 1;
    let parsed;
    try {
      parsed = parseNote(data.note);
    } catch (e) {
      return this.find({ position: p.at, check: 'checkpoint-format', message: `checkpoint at ${p.at}: ${(e as Error).message}` });
    }
    let body;
    try {
      body = parseCheckpointBody(parsed.body);
    } catch (e) {
      return this.find({ position: p.at, check: 'checkpoint-format', message: `checkpoint at ${p.at}: ${(e as Error).message}` });
    }
    const keyName = this.options.origin ?? body.origin;
    if (!verifyNoteSignature(parsed, keyName, this.options.publicKeySpki)) {
      // An unsigned root proves nothing: it is not compared, and the chain goes on from the last good one.
      return this.find({ position: p.at, check: 'checkpoint-signature', message: `checkpoint at ${p.at} (size ${body.treeSize}) is not signed by the checkpoint key` });
    }
    if (body.treeSize !== data.treeSize || (data.rootHash !== undefined && data.rootHash !== body.rootHash.toString('hex'))) {
      this.find({ position: p.at, check: 'checkpoint-format', message: `checkpoint event at ${p.at} says size ${data.treeSize}, its note ${body.treeSize}` });
    }
    const digest = noteDigest(data.note);
    if (data.noteSha256 !== undefined && data.noteSha256 !== digest.toString('hex')) {
      this.find({ position: p.at, check: 'checkpoint-format', message: `checkpoint event at ${p.at}: noteSha256 is not the note's hash` });
    }
    if (data.signerMode === 'non_qualified' && extensionValue(body, SIGNER_MODE_EXTENSION) !== 'non_qualified') {
      this.find({ position: p.at, check: 'checkpoint-format', message: `checkpoint at ${p.at} was signed by a software key but its note does not say so` });
    }
    // The chain: each note names the one before it.
    const previousLine = extensionValue(body, PREVIOUS_EXTENSION);
    if (this.previous) {
      const want = Buffer.from(this.previous.noteSha256, 'hex').toString('base64');
      if (previousLine !== want) this.find({ position: p.at, check: 'checkpoint-chain', message: `checkpoint at ${p.at} does not name the previous checkpoint (size ${this.previous.treeSize})` });
      if (body.treeSize <= this.previous.treeSize) this.find({ position: p.at, check: 'checkpoint-chain', message: `checkpoint at ${p.at} (size ${body.treeSize}) does not grow the tree of ${this.previous.treeSize}` });
    } else if (this.header!.from === 1 && previousLine !== undefined) {
      this.find({ position: p.at, check: 'checkpoint-chain', message: `the first checkpoint (at ${p.at}) names a previous one` });
    }
    if (data.timestampToken && this.options.verifyTimestamp) {
      const token = Buffer.from(data.timestampToken, 'base64');
      this.timestampChecks.push(
        Promise.resolve()
          .then(() => this.options.verifyTimestamp!(token, digest))
          .then((ok) => (ok ? void this.timestamps++ : Promise.reject(new Error('the token does not cover this note'))))
          .catch((e: Error) => this.find({ position: p.at, check: 'checkpoint-timestamp', message: `checkpoint at ${p.at}: timestamp does not verify (${e.message})` })),
      );
    }
    const tree = this.tree!;
    const prefix = this.header!.from - 1;
    if (body.treeSize < prefix) {
      this.unchecked++;
    } else if (body.treeSize > tree.size) {
      this.find({ position: p.at, check: 'checkpoint-root', message: `checkpoint at ${p.at} covers ${body.treeSize} leaves; the export has ${tree.size}` });
    } else {
      const root = tree.rootAt(body.treeSize);
      if (!root.equals(body.rootHash)) {
        this.find({
          position: Math.max(from, prefix + 1),
          through: body.treeSize,
          check: 'checkpoint-root',
          message: `the signed root at size ${body.treeSize} (checkpoint at ${p.at}) is not the root of the exported events: one of positions ${Math.max(from, prefix + 1)}–${body.treeSize} differs from what was signed`,
        });
      } else {
        if (this.previous && this.previous.treeSize >= prefix && this.previous.treeSize > 0) {
          const proof = tree.consistencyProof(this.previous.treeSize, body.treeSize);
          if (!verifyConsistency(this.previous.treeSize, this.previous.root, body.treeSize, body.rootHash, proof)) {
            this.find({ position: p.at, check: 'consistency', message: `checkpoint at ${p.at} is not consistent with the checkpoint of size ${this.previous.treeSize}` });
          }
        }
        this.coveredTo = Math.max(this.coveredTo, body.treeSize);
      }
    }
    this.previous = { treeSize: body.treeSize, noteSha256: digest.toString('hex'), root: body.rootHash };
  }

  async finish(): Promise<VerificationReport> {
    this.requireHeader();
    this.checkPending(true);
    await Promise.all(this.timestampChecks);
    const h = this.header!;
    if (this.nextPosition - 1 < h.to) {
      this.find({ position: this.nextPosition, check: 'sequence', message: `the export ends at ${this.nextPosition - 1}; its header says ${h.to}` });
    }
    return {
      ok: this.findings.length === 0,
      from: h.from,
      to: this.nextPosition - 1,
      events: this.events,
      checkpoints: this.checkpoints,
      checkpointsUnchecked: this.unchecked,
      timestampsVerified: this.timestamps,
      uncoveredAfter: this.coveredTo,
      findings: orderFindings(this.findings),
    };
  }
}

/**
 * Orders findings so that the first names the first exact position: a finding that can only name
 * a range (a signed root that does not match) sorts at the first exact finding inside it, if any.
 */
export function orderFindings(findings: readonly Finding[]): Finding[] {
  const exact = findings.filter((f) => f.through === undefined || f.through === f.position).map((f) => f.position);
  const key = (f: Finding): number => {
    if (f.through === undefined || f.through === f.position) return f.position;
    const inside = exact.filter((p) => p >= f.position && p <= f.through!);
    return inside.length > 0 ? Math.min(...inside) + 0.5 : f.position;
  };
  return [...findings].sort((a, b) => key(a) - key(b));
}
