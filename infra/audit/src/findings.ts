/*
 * What audit verification found (offline `audit verify` and the health view alike). Every
 * finding is counted; only the first `limit` are kept, so that a log altered everywhere does not
 * exhaust memory, and the report says how many were left out instead of silently stopping.
 */

export type FindingCheck =
  | 'position-missing'
  | 'position-duplicated'
  | 'sequence'
  | 'event-hash'
  | 'leaf-hash'
  | 'origin'
  | 'checkpoint-signature'
  | 'checkpoint-root'
  | 'checkpoint-chain'
  | 'checkpoint-timestamp'
  | 'checkpoint-format'
  | 'consistency'
  | 'export';

export interface Finding {
  /** The first position the problem is at (for a checkpoint: the first position it could be at). */
  position: number;
  /** Its last possible position, when the check can only narrow it to a range. */
  through?: number;
  /** The stable finding code (docs/audit.md, "Findings"). */
  check: FindingCheck;
  message: string;
}

/**
 * What an event's two hash checks say, as at most one finding: bytes that match neither their
 * hash nor the recorded leaf are one change, not two. `hashOk`: SHA-256 of the bytes is the
 * event's hash; `leafOk`: their leaf hash is the one the tree recorded at that position.
 */
export function eventFinding(position: number, hashOk: boolean, leafOk: boolean): Finding | null {
  if (!hashOk && !leafOk) return { position, check: 'event-hash', message: `event ${position} was changed: its bytes match neither its hash nor the leaf the tree recorded` };
  if (!hashOk) return { position, check: 'event-hash', message: `event ${position} does not match its hash (the hash was changed; the bytes are the leaf the tree recorded)` };
  if (!leafOk) return { position, check: 'leaf-hash', message: `event ${position} is not the leaf the tree recorded at that position (changed with its hash recomputed, or moved)` };
  return null;
}

/** Findings kept by default; `0` keeps them all. */
export const DEFAULT_MAX_FINDINGS = 1000;

export class FindingLog {
  private readonly kept: Finding[] = [];
  private count = 0;
  private readonly limit: number;

  /** Keeps the first `limit` findings (default DEFAULT_MAX_FINDINGS); `0` keeps every one. */
  constructor(limit: number = DEFAULT_MAX_FINDINGS) {
    if (!Number.isSafeInteger(limit) || limit < 0) throw new RangeError(`the finding limit must be a whole number ≥ 0, not ${limit}`);
    this.limit = limit === 0 ? Number.POSITIVE_INFINITY : limit;
  }

  add(f: Finding): void {
    this.count++;
    if (this.kept.length < this.limit) this.kept.push(f);
  }

  /** Every finding seen, kept or not. */
  get total(): number {
    return this.count;
  }

  /** Findings seen but not kept (0 when none was left out). */
  get omitted(): number {
    return this.count - this.kept.length;
  }

  /** The kept findings, the first exact position first (`orderFindings`). */
  ordered(): Finding[] {
    return orderFindings(this.kept);
  }
}

/**
 * Orders findings so that the first names the first exact position: a finding that can only name
 * a range (a signed root that does not match) sorts at the first exact finding inside it, if any.
 */
export function orderFindings(findings: readonly Finding[]): Finding[] {
  const isExact = (f: Finding): boolean => f.through === undefined || f.through === f.position;
  const exact = findings.filter(isExact).map((f) => f.position);
  const key = (f: Finding): number => {
    if (isExact(f)) return f.position;
    const inside = exact.filter((p) => p >= f.position && p <= f.through!);
    return inside.length > 0 ? Math.min(...inside) + 0.5 : f.position;
  };
  // Keys computed once each (a range's key scans the exact findings); a stable sort keeps ties in the order found.
  return findings
    .map((f, i) => ({ f, i, k: key(f) }))
    .sort((a, b) => a.k - b.k || a.i - b.i)
    .map((x) => x.f);
}
