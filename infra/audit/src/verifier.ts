import { hash as oneShot } from 'node:crypto';
import { z } from 'zod';
import { type AuditEventData, RegistoError } from '@registo/schemas';
import { type ExportHeader, EXPORT_KIND, checkEventLine, matchEventLine, parseOtherLine, recordedLeaf, splitEventLine } from './export-format.js';
import { type Finding, FindingLog, eventFinding } from './findings.js';
import { MemoryTree, hashLeafText, verifyConsistency } from './merkle.js';
import { PREVIOUS_EXTENSION, SIGNER_MODE_EXTENSION, extensionValue, noteDigest, parseCheckpointBody, parseNote, verifyNoteSignature } from './note.js';

/*
 * Offline verification of an audit export (docs/audit.md), one line at a time so that a log of
 * any size streams through: every event's hash is recomputed from its bytes, every leaf hash
 * from them too, the tree is rebuilt, and every checkpoint in the export (CheckpointSigned events
 * and trailing checkpoint lines) must be for the log's origin, signed by the checkpoint key,
 * chained to the one before, timestamped over its note (when a timestamp verifier is given), have
 * the root of the rebuilt tree at its size, and be consistent with the checkpoint before it.
 *
 * The tree is rebuilt from the leaf hashes the export says the platform's tree recorded, and each
 * event's bytes are checked against its own: the signed roots vouch for the recorded hashes, the
 * leaf check ties the bytes to them. A changed event is so named at its position once, instead of
 * making every later root differ. Positions must be unique and gap-free: each missing position
 * and each further event at a position already seen is counted (a log written by two processes
 * at once held 2,897 rows for positions 1–1,457). Where the rebuilt tree can no longer be the
 * signed one (a position missing or out of order, or a root that did not match), later roots are not compared:
 * the report says from which position (`rootsUncheckedFrom`) and how many checkpoints that left.
 */

export interface TimestampCheck {
  /** Throws (or returns false) unless `token` is a valid RFC 3161 token over `digest`. */
  (token: Buffer, digest: Buffer): boolean | Promise<boolean>;
}

/**
 * The log's root at `size` with an RFC 9162 consistency proof from it to `signedSize` (the
 * platform's `/v1/audit/proofs/consistency`), or null when there is none. Nothing in it is trusted:
 * a root is used only when its proof verifies against a signed root.
 */
export type EarlierRoot = (size: number, signedSize: number) => Promise<{ root: Buffer; proof: Buffer[] } | null>;

export interface VerifierOptions {
  /** The checkpoint key, DER SubjectPublicKeyInfo. */
  publicKeySpki: Buffer;
  /**
   * The log's origin, which is also the key's note name (pinned by the auditor, or the name the
   * platform publishes with the key). Without it, the first validly signed checkpoint's origin is
   * the log's; either way the header and every checkpoint must name it.
   */
  origin?: string;
  verifyTimestamp?: TimestampCheck;
  /** Findings kept in the report (default DEFAULT_MAX_FINDINGS; 0: all). All are counted. */
  maxFindings?: number;
  /** Lets a signed root that differs be bisected down to the first rewritten position. */
  earlierRoot?: EarlierRoot;
}

export interface VerificationReport {
  ok: boolean;
  from: number;
  to: number;
  /** The log's origin the checkpoints were checked against (null: no pin and no valid checkpoint). */
  origin: string | null;
  events: number;
  checkpoints: number;
  /** Checkpoints whose size lies before the export's first position: their roots could not be recomputed. */
  checkpointsUnchecked: number;
  /** Checkpoints at or after `rootsUncheckedFrom`: signature and chain checked, root not compared. */
  checkpointsNotCompared: number;
  /** The first position from which signed roots could not be compared (positions already reported), or null. */
  rootsUncheckedFrom: number | null;
  timestampsVerified: number;
  /** The tree size up to which a verified checkpoint covers the export. */
  uncoveredAfter: number;
  /** Positions between `from` and `to` that no event holds (each counted, however many findings they make). */
  positionsMissing: number;
  /** Events beyond the first at a position already exported (a log with two rows at one position). */
  positionsDuplicated: number;
  /** Every finding, kept or not. */
  findingsTotal: number;
  /** Findings counted but not listed (raise `maxFindings`, 0 for all, to list them). */
  findingsOmitted: number;
  findings: Finding[];
}

type CheckpointSigned = AuditEventData['CheckpointSigned'];

interface PendingCheckpoint {
  at: number;
  data: Pick<CheckpointSigned, 'treeSize' | 'note' | 'timestampToken'> & Partial<CheckpointSigned>;
}

/** The parts of a CheckpointSigned event the verifier uses, read from its bytes (which may be altered). */
const CheckpointEventData = z.object({
  treeSize: z.number().int().nonnegative(),
  note: z.string(),
  timestampToken: z.string().nullable(),
  rootHash: z.string().optional(),
  noteSha256: z.string().optional(),
  signerMode: z.enum(['qualified', 'non_qualified']).optional(),
});
const CheckpointEvent = z.object({ data: CheckpointEventData });

export class ExportVerifier {
  private header: ExportHeader | null = null;
  private tree: MemoryTree | null = null;
  private nextPosition = 1;
  private lineNumber = 0;
  private events = 0;
  private readonly findings: FindingLog;
  private checkpoints = 0;
  private unchecked = 0;
  private notCompared = 0;
  private timestamps = 0;
  private previous: { treeSize: number; noteSha256: string; root: Buffer } | null = null;
  /** The last checkpoint whose root matched the rebuilt tree (consistency proofs start there). */
  private lastGood: { treeSize: number; root: Buffer } | null = null;
  /** From this position on the rebuilt tree cannot be the signed one: roots covering it are not compared. */
  private brokenFrom: number | null = null;
  private origin: string | null;
  /** The first signed root that differed, to be narrowed with `earlierRoot` at the end. */
  private differing: { at: number; first: number; size: number; signedRoot: Buffer } | null = null;
  private coveredTo = 0;
  private missing = 0;
  private duplicated = 0;
  /** The gaps found so far, in order: an event of one that comes late is out of order, not a duplicate. */
  private readonly gaps: Array<{ from: number; to: number }> = [];
  private readonly pending: PendingCheckpoint[] = [];
  private readonly timestampChecks: Array<Promise<void>> = [];

  constructor(private readonly options: VerifierOptions) {
    this.findings = new FindingLog(options.maxFindings);
    this.origin = options.origin ?? null;
  }

  private find(f: Finding): void {
    this.findings.add(f);
  }

  private breakAt(position: number): void {
    this.brokenFrom = Math.min(this.brokenFrom ?? position, position);
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
    this.pending.push({ at: this.nextPosition, data: other });
  }

  private requireHeader(): void {
    if (!this.header) throw new RegistoError('AUDIT_EXPORT_INVALID', `line ${this.lineNumber}: the export does not start with its header line`, { line: this.lineNumber });
  }

  private start(h: ExportHeader): void {
    if (this.header) throw new RegistoError('AUDIT_EXPORT_INVALID', `line ${this.lineNumber}: a second header`, { line: this.lineNumber });
    if (h.version !== 1 || !Number.isSafeInteger(h.from) || h.from < 1 || h.prefix?.size !== h.from - 1 || typeof h.origin !== 'string') {
      throw new RegistoError('AUDIT_EXPORT_INVALID', 'the header is not a version 1 header with an origin and a prefix of size from − 1', {});
    }
    this.header = h;
    this.nextPosition = h.from;
    this.tree = h.from === 1 ? new MemoryTree() : new MemoryTree({ size: h.from - 1, edge: h.prefix.edge.map((e) => Buffer.from(e, 'hex')) });
    if (this.origin !== null) this.checkHeaderOrigin(this.origin, 'the checkpoint key is pinned to');
  }

  /** The header's origin is not signed: it must be the log's, or the export claims to be another log's. */
  private checkHeaderOrigin(origin: string, why: string): void {
    const h = this.header!;
    if (h.origin !== origin) this.find({ position: h.from, check: 'origin', message: `the export header names origin '${h.origin}'; ${why} '${origin}'` });
  }

  /**
   * One line given as bytes [start, end) of `buf` (without its newline): the fast path. An event
   * line is split by its fixed layout and its event bytes hashed where they lie; anything else
   * goes through `line`.
   */
  lineBytes(buf: Buffer, start: number, end: number): void {
    const m = matchEventLine(buf, start, end);
    if (!m) return this.line(buf.toString('utf8', start, end));
    const { body, recorded, hashOk, leafOk, isCheckpoint } = checkEventLine(buf, m, end);
    this.hashedEvent(m.position, recorded, hashOk, leafOk, isCheckpoint ? body.toString('utf8') : null);
  }

  /**
   * An event line whose hashes were checked elsewhere (a worker thread): `recorded` is the leaf
   * hash the line says the tree recorded (CheckedEventLine.recorded).
   */
  hashedEvent(position: number, recorded: Buffer, hashOk: boolean, leafOk: boolean, checkpointBody: string | null): void {
    this.lineNumber++;
    this.applyEvent(position, recorded, hashOk, leafOk, checkpointBody);
  }

  private applyEvent(position: number, recorded: Buffer, hashOk: boolean, leafOk: boolean, checkpointBody: string | null): void {
    this.requireHeader();
    this.checkPending();
    const place = this.sequence(position);
    const changed = eventFinding(position, hashOk, leafOk);
    if (changed) this.find(changed);
    // Out of sequence, the leaf would land at another index: the tree stops being the log's there.
    if (place === 'next' && this.brokenFrom === null) this.tree!.append(recorded);
    this.events++;
    // A second event at a position is not the log's: a checkpoint in it would be taken twice.
    if (checkpointBody !== null && place !== 'duplicate') this.checkpointEvent(position, checkpointBody);
  }

  private checkpointEvent(position: number, body: string): void {
    let parsed;
    try {
      parsed = CheckpointEvent.safeParse(JSON.parse(body));
    } catch {
      parsed = null;
    }
    if (!parsed?.success) return this.find({ position, check: 'checkpoint-format', message: `the CheckpointSigned event at ${position} is not a readable checkpoint event` });
    this.pending.push({ at: position, data: parsed.data.data });
  }

  /**
   * Where `position` stands: the next one, or not: a gap (`position-missing`, every missing position
   * counted), a position already exported (`position-duplicated`, each further event counted), or
   * an event of an earlier gap coming late (`sequence`). After a gap the rebuilt tree is no longer
   * the log's; a duplicate is left out of it, so the tree of recorded leaves still is.
   */
  private sequence(position: number): 'next' | 'gap' | 'late' | 'duplicate' {
    const expected = this.nextPosition;
    // An earlier position (late or repeated) leaves the next one expected as it was.
    this.nextPosition = Math.max(this.nextPosition, position + 1);
    if (position === expected) return 'next';
    if (position > expected) {
      this.missingRange(expected, position - 1, `(next event is ${position})`);
      return 'gap';
    }
    if (this.inGap(position)) {
      this.find({ position, check: 'sequence', message: `position ${position} out of order (expected ${expected})` });
      this.breakAt(position);
      return 'late';
    }
    this.duplicated++;
    this.find({ position, check: 'position-duplicated', message: `position ${position} is held by more than one event (another event at a position already exported)` });
    return 'duplicate';
  }

  /** `atEnd`: after the last event, with every root compared already (nothing is left to stop). */
  private missingRange(from: number, to: number, why: string, atEnd = false): void {
    this.missing += to - from + 1;
    this.gaps.push({ from, to });
    this.find({ position: from, ...(to > from && { through: to }), check: 'position-missing', message: `position ${from}${to > from ? `–${to}` : ''} missing ${why}` });
    if (!atEnd) this.breakAt(from);
  }

  /** Whether `position` lies in a gap found earlier (gaps are found in rising order: a binary search). */
  private inGap(position: number): boolean {
    let lo = 0;
    let hi = this.gaps.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const g = this.gaps[mid]!;
      if (position < g.from) hi = mid - 1;
      else if (position > g.to) lo = mid + 1;
      else return true;
    }
    return false;
  }

  private event(position: number, hash: string, leafHash: string, body: string): void {
    const leaf = hashLeafText(body);
    const leafOk = leaf.toString('hex') === leafHash;
    // Keys of the canonical JSON are sorted: `type` is the last member of the envelope.
    const isCheckpoint = body.endsWith('"type":"CheckpointSigned"}');
    this.applyEvent(position, leafOk ? leaf : recordedLeaf(leafHash, leaf), oneShot('sha256', body, 'hex') === hash, leafOk, isCheckpoint ? body : null);
  }

  /** Checks every pending checkpoint whose tree size the rebuilt tree has reached (or never will). */
  private checkPending(final = false): void {
    const ready = (size: number): boolean => final || size <= this.tree!.size || (this.brokenFrom !== null && size >= this.brokenFrom);
    while (this.pending.length > 0 && ready(this.pending[0]!.data.treeSize)) {
      this.checkpoint(this.pending.shift()!);
    }
  }

  private checkpoint(p: PendingCheckpoint): void {
    this.checkpoints++;
    const { data } = p;
    let parsed;
    let body;
    try {
      parsed = parseNote(data.note);
      body = parseCheckpointBody(parsed.body);
    } catch (e) {
      return this.find({ position: p.at, check: 'checkpoint-format', message: `checkpoint at ${p.at}: ${(e as Error).message}` });
    }
    // One log, one origin: a checkpoint of another origin is another log's, whatever key signed it.
    if (this.origin !== null && body.origin !== this.origin) {
      return this.find({ position: p.at, check: 'origin', message: `checkpoint at ${p.at} (size ${body.treeSize}) is for origin '${body.origin}', not the log's '${this.origin}'` });
    }
    if (!verifyNoteSignature(parsed, body.origin, this.options.publicKeySpki)) {
      // An unsigned root proves nothing: it is not compared, and the chain goes on from the last good one.
      return this.find({ position: p.at, check: 'checkpoint-signature', message: `checkpoint at ${p.at} (size ${body.treeSize}) is not signed by the checkpoint key` });
    }
    if (this.origin === null) {
      // The first signed checkpoint names the log; the unsigned header must agree.
      this.origin = body.origin;
      this.checkHeaderOrigin(body.origin, 'its checkpoints are signed for');
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
    this.compareRoot(p.at, body.treeSize, body.rootHash);
    this.previous = { treeSize: body.treeSize, noteSha256: digest.toString('hex'), root: body.rootHash };
  }

  /** The signed root against the rebuilt tree, when the rebuilt tree can still be the signed one. */
  private compareRoot(at: number, size: number, signedRoot: Buffer): void {
    const tree = this.tree!;
    const prefix = this.header!.from - 1;
    if (size < prefix) {
      this.unchecked++;
    } else if (this.brokenFrom !== null && size >= this.brokenFrom) {
      // Its root covers positions already reported: comparing it would report them again as a range.
      this.notCompared++;
    } else if (size > tree.size) {
      this.find({ position: at, check: 'checkpoint-root', message: `checkpoint at ${at} covers ${size} leaves; the export has ${tree.size}` });
    } else if (!tree.rootAt(size).equals(signedRoot)) {
      // Every leaf before `first` is under a root that matched; the change is in first…size, and
      // the recorded leaf hash was changed with the bytes (a changed byte alone is found exactly).
      const first = Math.max(this.lastGood ? this.lastGood.treeSize + 1 : 1, prefix + 1);
      this.differing = { at, first, size, signedRoot };
      this.breakAt(first);
    } else {
      const good = this.lastGood;
      if (good && good.treeSize >= prefix && good.treeSize > 0 && good.treeSize < size) {
        const proof = tree.consistencyProof(good.treeSize, size);
        if (!verifyConsistency(good.treeSize, good.root, size, signedRoot, proof)) {
          this.find({ position: at, check: 'consistency', message: `checkpoint at ${at} is not consistent with the checkpoint of size ${good.treeSize}` });
        }
      }
      this.lastGood = { treeSize: size, root: signedRoot };
      this.coveredTo = Math.max(this.coveredTo, size);
    }
  }

  /**
   * Reports the first signed root that differed, narrowed as far as the consistency proofs allow:
   * the rebuilt tree's root equals the log's at every size before the first rewritten position and
   * at none from it on, so a bisection over sizes finds that position with O(log n) proofs.
   */
  private async reportDiffering(): Promise<void> {
    const d = this.differing;
    if (!d) return;
    const log = this.options.earlierRoot;
    /** Whether the rebuilt tree has the log's root at `size`: null when no verified root says. */
    const matches = async (size: number): Promise<boolean | null> => {
      const earlier = log ? await log(size, d.size).catch(() => null) : null;
      if (!earlier || !verifyConsistency(size, earlier.root, d.size, d.signedRoot, earlier.proof)) return null;
      return this.tree!.rootAt(size).equals(earlier.root);
    };
    let good = d.first - 1;
    let bad = d.size;
    // Before any matching root, the start rests on the export's unsigned prefix: check it first.
    const start = this.lastGood === null && good > 0 ? await matches(good) : true;
    while (start === true && bad - good > 1) {
      const mid = Math.floor((good + bad) / 2);
      const m = await matches(mid);
      if (m === null) break;
      if (m) good = mid;
      else bad = mid;
    }
    if (start === false) {
      this.find({ position: good + 1, through: d.size, check: 'checkpoint-root', message: `the export's prefix (the tree of positions 1–${good}) is not the log's: the signed root at size ${d.size} (checkpoint at ${d.at}) cannot be recomputed from it` });
      return;
    }
    if (bad - good === 1 && log) {
      this.find({
        position: bad,
        check: 'checkpoint-root',
        message: `event ${bad} is not the event that was signed at that position: it was rewritten with its recorded leaf hash (the signed root at size ${d.size}, checkpoint at ${d.at}, bisected with the log's consistency proofs)`,
      });
      return;
    }
    this.find({
      position: good + 1,
      through: bad,
      check: 'checkpoint-root',
      message: `the signed root at size ${d.size} (checkpoint at ${d.at}) is not the root of the exported events: one of positions ${good + 1}–${bad} differs from what was signed (its recorded leaf hash was rewritten with it)`,
    });
  }

  async finish(): Promise<VerificationReport> {
    this.requireHeader();
    this.checkPending(true);
    await Promise.all(this.timestampChecks);
    await this.reportDiffering();
    const h = this.header!;
    if (this.nextPosition - 1 < h.to) this.missingRange(this.nextPosition, h.to, `(the export ends at ${this.nextPosition - 1}; its header says ${h.to})`, true);
    return {
      ok: this.findings.total === 0,
      from: h.from,
      to: this.nextPosition - 1,
      origin: this.origin,
      events: this.events,
      checkpoints: this.checkpoints,
      checkpointsUnchecked: this.unchecked,
      checkpointsNotCompared: this.notCompared,
      rootsUncheckedFrom: this.brokenFrom,
      timestampsVerified: this.timestamps,
      uncoveredAfter: this.coveredTo,
      positionsMissing: this.missing,
      positionsDuplicated: this.duplicated,
      findingsTotal: this.findings.total,
      findingsOmitted: this.findings.omitted,
      findings: this.findings.ordered(),
    };
  }
}
