import { parentPort } from 'node:worker_threads';
import { checkEventLine, matchEventLine } from './export-format.js';

/*
 * The verifier's hashing, off the main thread: given a block of whole export lines, recompute
 * each event line's event hash and leaf hash and say whether they match what the line claims.
 * The main thread keeps the order, the tree and the checkpoints (verify-stream.ts).
 */

export interface HashedBlock {
  id: number;
  /** Per line, in order: 0 event, 1 other line (text in `texts`), 2 CheckpointSigned event (body in `texts`). */
  kinds: Uint8Array;
  positions: Float64Array;
  /** 32 bytes per event line: the leaf hash the line says the tree recorded (`CheckedEventLine.recorded`). */
  leaves: Uint8Array;
  /** Per event line: bit 0 event hash matches, bit 1 leaf hash matches. */
  flags: Uint8Array;
  texts: string[];
}

export function hashBlock(id: number, buf: Buffer): HashedBlock {
  const kinds: number[] = [];
  const positions: number[] = [];
  const flags: number[] = [];
  const texts: string[] = [];
  const leaves = Buffer.allocUnsafe(Math.ceil(buf.length / 200) * 32 + 32);
  let n = 0;
  let out = leaves;
  let start = 0;
  while (start < buf.length) {
    let end = buf.indexOf(10, start);
    if (end < 0) end = buf.length;
    if (end > start) {
      const m = matchEventLine(buf, start, end);
      if (!m) {
        kinds.push(1);
        texts.push(buf.toString('utf8', start, end));
      } else {
        const { body, recorded, hashOk, leafOk, isCheckpoint } = checkEventLine(buf, m, end);
        if ((n + 1) * 32 > out.length) {
          const grown = Buffer.allocUnsafe(out.length * 2);
          out.copy(grown, 0, 0, n * 32);
          out = grown;
        }
        recorded.copy(out, n * 32);
        n++;
        positions.push(m.position);
        flags.push((hashOk ? 1 : 0) | (leafOk ? 2 : 0));
        kinds.push(isCheckpoint ? 2 : 0);
        if (isCheckpoint) texts.push(body.toString('utf8'));
      }
    }
    start = end + 1;
  }
  return { id, kinds: Uint8Array.from(kinds), positions: Float64Array.from(positions), leaves: new Uint8Array(out.buffer, out.byteOffset, n * 32).slice(), flags: Uint8Array.from(flags), texts };
}

parentPort?.on('message', (m: { id: number; buf: ArrayBuffer }) => {
  const r = hashBlock(m.id, Buffer.from(m.buf));
  parentPort!.postMessage(r, [r.kinds.buffer, r.positions.buffer, r.leaves.buffer, r.flags.buffer] as ArrayBuffer[]);
});
