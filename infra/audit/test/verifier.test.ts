import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { expect } from 'chai';
import { SoftwareSigner } from '@registo/hsm';
import {
  CompactRange,
  type EarlierRoot,
  MemoryTree,
  EXPORT_KIND,
  formatCheckpointBody,
  hashLeafText,
  noteDigest,
  signNote,
  verifyExportStream,
  type VerificationReport,
} from '../src/index.js';

const ORIGIN = 'registo.test/audit';
const signer = SoftwareSigner.generate('verifier-test');
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

interface Built {
  lines: string[];
  /** The genuine log's roots and consistency proofs, as the platform's tree answers them. */
  earlierRoot: EarlierRoot;
  /** Positions of the CheckpointSigned events. */
  checkpointAt: number[];
}

/**
 * An export of `n` events, the way the platform writes one: every `every`-th event is a
 * CheckpointSigned over the events before it, chained and signed for `origin`.
 */
async function buildExport(n: number, every: number, origin = ORIGIN): Promise<Built> {
  const spki = await signer.publicKeySpki();
  const range = CompactRange.empty();
  const genuine = new MemoryTree();
  const lines = [JSON.stringify({ kind: EXPORT_KIND, version: 1, origin, from: 1, to: n, prefix: { size: 0, edge: [] }, exportedAt: '2026-01-01T00:00:00.000Z' })];
  const checkpointAt: number[] = [];
  let previous: string | null = null;
  for (let p = 1; p <= n; p++) {
    let body: string;
    if (p % every === 0) {
      const size = p - 1;
      const extensions = [...(previous ? [`previous ${noteDigest(previous).toString('base64')}`] : []), 'signer-mode non_qualified'];
      const note = await signNote(formatCheckpointBody({ origin, treeSize: size, rootHash: range.root(), extensions }), origin, spki, (d) => signer.sign(d));
      const data = { note, noteSha256: noteDigest(note).toString('hex'), origin, rootHash: range.root().toString('hex'), signerMode: 'non_qualified', timestampToken: null, treeSize: size };
      // Keys sorted, as in the canonical JSON: `type` is the last member.
      body = JSON.stringify({ data, eventId: `checkpoint-${p}`, type: 'CheckpointSigned' });
      previous = note;
      checkpointAt.push(p);
    } else {
      body = JSON.stringify({ data: { regId: `1003100001${String(p).padStart(4, '0')}` }, eventId: `event-${p}`, type: 'PacketReceived' });
    }
    const leaf = hashLeafText(body);
    range.append(leaf);
    genuine.append(leaf);
    lines.push(`{"position":${p},"hash":"${sha256(body)}","leafHash":"${leaf.toString('hex')}","event":${body}}`);
  }
  const earlierRoot: EarlierRoot = async (size, signedSize) => ({ root: genuine.rootAt(size), proof: genuine.consistencyProof(size, signedSize) });
  return { lines, checkpointAt, earlierRoot };
}

const verify = async (lines: string[], options: { origin?: string; maxFindings?: number; workers?: number; earlierRoot?: EarlierRoot } = {}): Promise<VerificationReport> =>
  verifyExportStream(Readable.from([Buffer.from(`${lines.join('\n')}\n`)]), { publicKeySpki: await signer.publicKeySpki(), ...options });

/** The line of `position` (line 0 is the header). */
const lineOf = (built: Built, position: number): number => position;

/** One byte of the event's bytes changed (its eventId's first character), hash and leafHash left as they were. */
function changeOneByte(built: Built, position: number): void {
  const i = lineOf(built, position);
  built.lines[i] = built.lines[i]!.replace('"eventId":"event-', '"eventId":"Event-');
}

describe('offline audit verification: findings', () => {
  it('a verbatim export verifies', async () => {
    const built = await buildExport(120, 10);
    const report = await verify(built.lines);
    expect(report.findings).to.deep.equal([]);
    expect(report).to.include({ ok: true, findingsTotal: 0, findingsOmitted: 0, checkpoints: 12, checkpointsNotCompared: 0, rootsUncheckedFrom: null, origin: ORIGIN });
  });

  it('30 changed events and a deletion after them: all 31 reported, each once at its position, the deletion included', async () => {
    const built = await buildExport(120, 10);
    const changed = Array.from({ length: 120 }, (_, i) => i + 1).filter((p) => !built.checkpointAt.includes(p)).slice(0, 30);
    for (const p of changed) changeOneByte(built, p);
    const deleted = 95;
    built.lines.splice(lineOf(built, deleted), 1);
    for (const workers of [0, 2]) {
      const report = await verify(built.lines, { workers });
      expect(report.ok).to.equal(false);
      expect(report.findingsTotal, `workers ${workers}`).to.equal(31);
      expect(report.findingsOmitted).to.equal(0);
      expect(report.findings.map((f) => [f.position, f.check])).to.deep.equal([...changed.map((p) => [p, 'event-hash']), [deleted, 'position-missing']]);
      // Roots before the deletion match (the tree holds the recorded leaf hashes); those over it are not compared.
      expect(report.rootsUncheckedFrom).to.equal(deleted);
      expect(report.checkpointsNotCompared).to.equal(built.checkpointAt.filter((p) => p - 1 >= deleted).length);
    }
  });

  it('past the limit, the report says how many findings were not listed; 0 lists every one', async () => {
    const built = await buildExport(120, 10);
    const changed = Array.from({ length: 120 }, (_, i) => i + 1).filter((p) => !built.checkpointAt.includes(p)).slice(0, 30);
    for (const p of changed) changeOneByte(built, p);
    built.lines.splice(lineOf(built, 95), 1);
    const limited = await verify(built.lines, { maxFindings: 20 });
    expect(limited.findings).to.have.length(20);
    expect(limited).to.include({ findingsTotal: 31, findingsOmitted: 11 });
    expect(limited.findings[0]!.position).to.equal(changed[0]);
    const all = await verify(built.lines, { maxFindings: 0 });
    expect(all.findings).to.have.length(31);
    expect(all.findings.at(-1)).to.include({ position: 95, check: 'position-missing' });
  });

  it('an event rewritten with both its hashes is located once, as the span between the last matching root and the first that differs', async () => {
    const built = await buildExport(120, 10);
    const p = 25;
    const body = JSON.stringify({ data: { regId: 'rewritten' }, eventId: `event-${p}`, type: 'PacketReceived' });
    built.lines[lineOf(built, p)] = `{"position":${p},"hash":"${sha256(body)}","leafHash":"${hashLeafText(body).toString('hex')}","event":${body}}`;
    const report = await verify(built.lines);
    // The checkpoint at position 30 signs size 29; the one at 20 (size 19) still matches.
    expect(report.findings).to.deep.equal([
      {
        position: 20,
        through: 29,
        check: 'checkpoint-root',
        message: 'the signed root at size 29 (checkpoint at 30) is not the root of the exported events: one of positions 20–29 differs from what was signed (its recorded leaf hash was rewritten with it)',
      },
    ]);
    expect(report.rootsUncheckedFrom).to.equal(20);
    expect(report.checkpointsNotCompared).to.equal(9);
  });

  it('with the log\'s consistency proofs, a rewritten event is bisected down to its position; proofs that do not verify leave the span', async () => {
    const built = await buildExport(120, 10);
    const p = 25;
    const body = JSON.stringify({ data: { regId: 'rewritten' }, eventId: `event-${p}`, type: 'PacketReceived' });
    built.lines[lineOf(built, p)] = `{"position":${p},"hash":"${sha256(body)}","leafHash":"${hashLeafText(body).toString('hex')}","event":${body}}`;
    const located = await verify(built.lines, { earlierRoot: built.earlierRoot });
    expect(located.findings).to.deep.equal([
      {
        position: 25,
        check: 'checkpoint-root',
        message: 'event 25 is not the event that was signed at that position: it was rewritten with its recorded leaf hash (the signed root at size 29, checkpoint at 30, bisected with the log\'s consistency proofs)',
      },
    ]);
    // A source whose roots are not the log's proves nothing: the span stays as the signed roots give it.
    const forged: EarlierRoot = async (size, signedSize) => ({ root: Buffer.alloc(32, 1), proof: (await built.earlierRoot(size, signedSize))!.proof });
    const unlocated = await verify(built.lines, { earlierRoot: forged });
    expect(unlocated.findings.map((f) => [f.position, f.through, f.check])).to.deep.equal([[20, 29, 'checkpoint-root']]);
  });

  it('two events swapped are two exact findings, and every root still matches', async () => {
    const built = await buildExport(60, 10);
    const [a, b] = [built.lines[lineOf(built, 12)]!, built.lines[lineOf(built, 13)]!];
    const bodyOf = (line: string): string => line.slice(line.indexOf('"hash":'));
    built.lines[lineOf(built, 12)] = `{"position":12,${bodyOf(b)}`.replace(/"leafHash":"[0-9a-f]{64}"/, a.match(/"leafHash":"[0-9a-f]{64}"/)![0]);
    built.lines[lineOf(built, 13)] = `{"position":13,${bodyOf(a)}`.replace(/"leafHash":"[0-9a-f]{64}"/, b.match(/"leafHash":"[0-9a-f]{64}"/)![0]);
    const report = await verify(built.lines);
    expect(report.findings.map((f) => [f.position, f.check])).to.deep.equal([
      [12, 'leaf-hash'],
      [13, 'leaf-hash'],
    ]);
    expect(report.rootsUncheckedFrom).to.equal(null);
  });
});

describe('offline audit verification: positions unique and gap-free', () => {
  /** The line of `position` again, as a second row at that position (another event when `other`, which still claims the recorded leaf). */
  const twice = (built: Built, position: number, other = false): string => {
    const line = built.lines[lineOf(built, position)]!;
    if (!other) return line;
    const body = JSON.stringify({ data: { regId: `other-${position}` }, eventId: `other-${position}`, type: 'PacketReceived' });
    return `{"position":${position},"hash":"${sha256(body)}","leafHash":"${line.match(/"leafHash":"([0-9a-f]{64})"/)![1]}","event":${body}}`;
  };

  it('a position held twice and positions missing: every one counted, each gap and each duplicate located', async () => {
    const built = await buildExport(120, 10);
    const lines = built.lines.flatMap((line, i) => (i === 7 || (i >= 50 && i <= 59) ? [line, twice(built, i)] : i >= 81 && i <= 83 ? [] : i === 95 ? [] : [line]));
    for (const workers of [0, 2]) {
      const report = await verify(lines, { workers });
      expect(report).to.include({ ok: false, positionsDuplicated: 11, positionsMissing: 4, findingsTotal: 13, rootsUncheckedFrom: 81 });
      expect(report.findings.map((f) => [f.position, f.through, f.check])).to.deep.equal([
        [7, undefined, 'position-duplicated'],
        ...Array.from({ length: 10 }, (_, k) => [50 + k, undefined, 'position-duplicated']),
        [81, 83, 'position-missing'],
        [95, undefined, 'position-missing'],
      ]);
      // A duplicate is left out of the rebuilt tree: the roots before the first gap still match.
      expect(report.checkpointsNotCompared, `workers ${workers}`).to.equal(built.checkpointAt.filter((p) => p - 1 >= 81).length);
    }
  });

  it('a log two writers filled (2,897 rows for positions 1–1,457) fails, counts every extra row and names the first', async () => {
    const built = await buildExport(1457, 100);
    const lines = built.lines.flatMap((line, i) => (i >= 1 && i <= 1440 ? [line, twice(built, i, true)] : [line]));
    expect(lines.length - 1).to.equal(2897);
    const report = await verify(lines);
    // Each second row is a position already held, and not the leaf the tree recorded there.
    expect(report).to.include({ ok: false, positionsDuplicated: 1440, positionsMissing: 0, findingsTotal: 2880, findingsOmitted: 1880 });
    expect(report.findings[0]).to.include({ position: 1, check: 'position-duplicated' });
    expect(report.rootsUncheckedFrom).to.equal(null);
  });

  it('an export that stops before its header\'s end, and a position that comes after its gap', async () => {
    const built = await buildExport(60, 10);
    const truncated = await verify(built.lines.slice(0, 56));
    expect(truncated).to.include({ positionsMissing: 5, to: 55 });
    expect(truncated.findings.map((f) => [f.position, f.through, f.check])).to.deep.equal([[56, 60, 'position-missing']]);
    const late = [...built.lines];
    [late[3], late[4]] = [late[4]!, late[3]!];
    const report = await verify(late);
    expect(report).to.include({ positionsMissing: 1, positionsDuplicated: 0 });
    expect(report.findings.map((f) => [f.position, f.check])).to.deep.equal([
      [3, 'position-missing'],
      [3, 'sequence'],
    ]);
  });
});

describe('offline audit verification: unreadable lines', () => {
  it('a CheckpointSigned event whose bytes no longer parse is a finding, not a crash', async () => {
    const built = await buildExport(30, 10);
    built.lines[10] = built.lines[10]!.replace('"data":{"note":', '"data":{"note"');
    const report = await verify(built.lines);
    expect(report.findings.slice(0, 2).map((f) => [f.position, f.check])).to.deep.equal([
      [10, 'event-hash'],
      [10, 'checkpoint-format'],
    ]);
  });

  it('a trailing checkpoint line with a malformed field is AUDIT_EXPORT_INVALID naming the line', async () => {
    const built = await buildExport(20, 10);
    built.lines.push(JSON.stringify({ kind: 'checkpoint', treeSize: 19, position: 21, note: 'x', timestampToken: 5 }));
    const error = (await verify(built.lines).catch((e: unknown) => e)) as { code?: string; message?: string };
    expect(error.code).to.equal('AUDIT_EXPORT_INVALID');
    expect(error.message).to.equal('line 22 is a checkpoint line with a field missing or malformed');
  });
});

describe('offline audit verification: the origin', () => {
  it('an export whose header names another origin fails with an origin finding, once', async () => {
    const built = await buildExport(60, 10);
    built.lines[0] = built.lines[0]!.replace(`"origin":"${ORIGIN}"`, '"origin":"elsewhere.test/audit"');
    const report = await verify(built.lines);
    expect(report.ok).to.equal(false);
    expect(report.findings.map((f) => f.check)).to.deep.equal(['origin']);
    expect(report.findings[0]!.message).to.equal(`the export header names origin 'elsewhere.test/audit'; its checkpoints are signed for '${ORIGIN}'`);
  });

  it('checkpoints signed for another origin fail against the pinned origin, even with the right key', async () => {
    const built = await buildExport(30, 10, 'elsewhere.test/audit');
    expect((await verify(built.lines)).ok, 'no pin: one origin throughout').to.equal(true);
    const report = await verify(built.lines, { origin: ORIGIN });
    expect(report.ok).to.equal(false);
    expect(report.findings.map((f) => [f.position, f.check])).to.deep.equal([
      [1, 'origin'],
      [10, 'origin'],
      [20, 'origin'],
      [30, 'origin'],
    ]);
    expect((await verify((await buildExport(30, 10)).lines, { origin: ORIGIN })).ok, 'the right pin').to.equal(true);
  });
});
