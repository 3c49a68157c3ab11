import { createHash, hash as oneShot } from 'node:crypto';

/*
 * The RFC 6962 / RFC 9162 Merkle tree (SHA-256): leaf hash = SHA-256(0x00 ‖ leaf data), interior
 * node = SHA-256(0x01 ‖ left ‖ right), MTH of n leaves splits at the largest power of two below n.
 *
 * Stored trees are addressed by perfect nodes: node (level L, index i) is the hash of the 2^L
 * leaves [i·2^L, (i+1)·2^L). Any tree hash the RFC defines over a prefix of the log (roots,
 * inclusion paths, consistency proofs) is made of such nodes, so a store of perfect nodes answers
 * every proof with O(log n) look-ups. Proof generation is split in two: plan the ranges a proof
 * needs, fetch every perfect node they decompose into in one go, then hash.
 */

export const HASH_SIZE = 32;
const LEAF_PREFIX = Buffer.from([0]);
const NODE_PREFIX = Buffer.from([1]);

export const EMPTY_ROOT: Buffer = createHash('sha256').digest();

export function hashLeaf(data: Uint8Array): Buffer {
  return createHash('sha256').update(LEAF_PREFIX).update(data).digest();
}

/** The leaf hash of UTF-8 text without copying it into a Buffer first (the verifier's hot path). */
export function hashLeafText(text: string): Buffer {
  // One-shot hashing is several times faster than a Hash object for inputs of this size; U+0000 is the byte 0x00.
  return oneShot('sha256', `\u0000${text}`, 'buffer') as Buffer;
}

const scratch = Buffer.alloc(1 + 2 * HASH_SIZE);
scratch[0] = NODE_PREFIX[0]!;

export function hashChildren(left: Uint8Array, right: Uint8Array): Buffer {
  scratch.set(left, 1);
  scratch.set(right, 1 + HASH_SIZE);
  return oneShot('sha256', scratch, 'buffer') as Buffer;
}

/** The largest power of two strictly smaller than n (n ≥ 2). */
export function splitPoint(n: number): number {
  if (!(n >= 2)) throw new RangeError(`cannot split ${n} leaves`);
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

const isPowerOfTwo = (n: number): boolean => n >= 1 && 2 ** Math.round(Math.log2(n)) === n;

export interface NodeKey {
  level: number;
  index: number;
}

export const nodeKeyString = (k: NodeKey): string => `${k.level}/${k.index}`;

/** Reads perfect nodes; throws (or returns undefined) for a node not stored. */
export type NodeGetter = (level: number, index: number) => Buffer | undefined;

/** A half-open range of leaves [start, end). */
export interface LeafRange {
  start: number;
  end: number;
}

/** The perfect nodes that MTH(D[start:end]) is computed from, left to right. */
export function rangeNodes(start: number, end: number, out: NodeKey[] = []): NodeKey[] {
  const n = end - start;
  if (n <= 0) return out;
  if (isPowerOfTwo(n) && start % n === 0) {
    out.push({ level: Math.round(Math.log2(n)), index: start / n });
    return out;
  }
  if (n === 1) {
    out.push({ level: 0, index: start });
    return out;
  }
  const k = splitPoint(n);
  rangeNodes(start, start + k, out);
  rangeNodes(start + k, end, out);
  return out;
}

/** MTH(D[start:end]) from stored perfect nodes. */
export function rangeHash(start: number, end: number, get: NodeGetter): Buffer {
  const n = end - start;
  if (n <= 0) return EMPTY_ROOT;
  if ((isPowerOfTwo(n) && start % n === 0) || n === 1) {
    const level = Math.round(Math.log2(n));
    const node = get(level, start / n);
    if (!node) throw new Error(`tree node ${level}/${start / n} is not stored`);
    return node;
  }
  const k = splitPoint(n);
  return hashChildren(rangeHash(start, start + k, get), rangeHash(start + k, end, get));
}

/** RFC 9162 §2.1.3.1 PATH(m, D[0:n]) as the ranges whose hashes form it, leaf side first. */
export function inclusionRanges(index: number, size: number): LeafRange[] {
  if (!(index >= 0 && index < size)) throw new RangeError(`leaf ${index} is outside a tree of ${size}`);
  const out: LeafRange[] = [];
  const walk = (m: number, start: number, end: number): void => {
    const n = end - start;
    if (n === 1) return;
    const k = splitPoint(n);
    if (m < k) {
      walk(m, start, start + k);
      out.push({ start: start + k, end });
    } else {
      walk(m - k, start + k, end);
      out.push({ start, end: start + k });
    }
  };
  walk(index, 0, size);
  return out;
}

/** RFC 9162 §2.1.4.1 PROOF(m, D[0:n]) as ranges (0 < m ≤ n). */
export function consistencyRanges(m: number, size: number): LeafRange[] {
  if (!(m > 0 && m <= size)) throw new RangeError(`no consistency proof from ${m} to ${size}`);
  const out: LeafRange[] = [];
  const sub = (m: number, start: number, end: number, complete: boolean): void => {
    const n = end - start;
    if (m === n) {
      if (!complete) out.push({ start, end });
      return;
    }
    const k = splitPoint(n);
    if (m <= k) {
      sub(m, start, start + k, complete);
      out.push({ start: start + k, end });
    } else {
      sub(m - k, start + k, end, false);
      out.push({ start, end: start + k });
    }
  };
  sub(m, 0, size, true);
  return out;
}

/** Every perfect node the ranges need (deduplicated). */
export function nodesFor(ranges: readonly LeafRange[]): NodeKey[] {
  const seen = new Map<string, NodeKey>();
  for (const r of ranges) for (const k of rangeNodes(r.start, r.end)) seen.set(nodeKeyString(k), k);
  return [...seen.values()];
}

export function hashRanges(ranges: readonly LeafRange[], get: NodeGetter): Buffer[] {
  return ranges.map((r) => rangeHash(r.start, r.end, get));
}

/** RFC 9162 §2.1.3.2: does `proof` show leaf `index` (hash `leafHash`) in the tree of `size` with `root`? */
export function verifyInclusion(leafHash: Uint8Array, index: number, size: number, proof: readonly Uint8Array[], root: Uint8Array): boolean {
  if (!(index >= 0 && index < size) || leafHash.length !== HASH_SIZE) return false;
  let fn = index;
  let sn = size - 1;
  let r: Buffer = Buffer.from(leafHash);
  for (const p of proof) {
    if (p.length !== HASH_SIZE || sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = hashChildren(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = hashChildren(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && r.equals(Buffer.from(root));
}

/** RFC 9162 §2.1.4.2: does `proof` show the tree of size1/root1 is a prefix of size2/root2? */
export function verifyConsistency(size1: number, root1: Uint8Array, size2: number, root2: Uint8Array, proof: readonly Uint8Array[]): boolean {
  const r1 = Buffer.from(root1);
  const r2 = Buffer.from(root2);
  if (size1 < 0 || size2 < size1) return false;
  if (size1 === size2) return proof.length === 0 && r1.equals(r2);
  if (size1 === 0) return proof.length === 0 && r1.equals(EMPTY_ROOT);
  if (proof.length === 0 || proof.some((p) => p.length !== HASH_SIZE)) return false;
  const path = proof.map((p) => Buffer.from(p));
  if (isPowerOfTwo(size1)) path.unshift(r1);
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr: Buffer = path[0]!;
  let sr: Buffer = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = hashChildren(c, fr);
      sr = hashChildren(c, sr);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      sr = hashChildren(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return fr.equals(r1) && sr.equals(r2) && sn === 0;
}

/**
 * The right edge of a growing tree: one perfect node per set bit of the size, largest first.
 * Appending a leaf returns the perfect nodes it completes (the leaf itself first), which is what
 * a store must persist; the root is the right fold of the edge.
 */
export class CompactRange {
  private constructor(
    private sizeValue: number,
    private readonly edge: Buffer[],
  ) {}

  static empty(): CompactRange {
    return new CompactRange(0, []);
  }

  /** The perfect nodes the edge of a tree of `size` is made of (for loading it from a store). */
  static edgeKeys(size: number): NodeKey[] {
    const out: NodeKey[] = [];
    let start = 0;
    for (let level = 52; level >= 0; level--) {
      const width = 2 ** level;
      if (size - start >= width) {
        out.push({ level, index: start / width });
        start += width;
      }
    }
    return out;
  }

  /** A range restored from the hashes of `edgeKeys(size)`, in that order. */
  static fromEdge(size: number, hashes: readonly Buffer[]): CompactRange {
    if (hashes.length !== CompactRange.edgeKeys(size).length) throw new Error(`a tree of ${size} has ${CompactRange.edgeKeys(size).length} edge nodes, got ${hashes.length}`);
    return new CompactRange(size, hashes.map((h) => Buffer.from(h)));
  }

  get size(): number {
    return this.sizeValue;
  }

  edgeHashes(): Buffer[] {
    return [...this.edge];
  }

  clone(): CompactRange {
    return new CompactRange(this.sizeValue, [...this.edge]);
  }

  /** Appends a leaf hash; returns the nodes it completes, level 0 first, with their keys. */
  append(leafHash: Buffer, created?: (level: number, index: number, hash: Buffer) => void): void {
    const index = this.sizeValue;
    created?.(0, index, leafHash);
    let hash = leafHash;
    let level = 0;
    let i = index;
    // Each trailing 1 bit of the index closes one more perfect node.
    while (i % 2 === 1) {
      const left = this.edge.pop()!;
      hash = hashChildren(left, hash);
      level++;
      i = (i - 1) / 2;
      created?.(level, i, hash);
    }
    this.edge.push(hash);
    this.sizeValue++;
  }

  root(): Buffer {
    if (this.edge.length === 0) return EMPTY_ROOT;
    let r = this.edge[this.edge.length - 1]!;
    for (let j = this.edge.length - 2; j >= 0; j--) r = hashChildren(this.edge[j]!, r);
    return r;
  }
}

/**
 * Every perfect node of a tree, in memory (the offline verifier and tests): level L holds the
 * completed nodes of width 2^L, packed 32 bytes apiece. Answers roots and proofs for any size from
 * its starting size up. A tree may start from a compact range (an export that does not begin at
 * position 1): its edge nodes are then the only nodes it holds below that size.
 */
export class MemoryTree {
  private levels: Buffer[] = [];
  private counts: number[] = [];
  private readonly range: CompactRange;

  constructor(start?: { size: number; edge: readonly Buffer[] }) {
    this.range = start ? CompactRange.fromEdge(start.size, start.edge) : CompactRange.empty();
    if (start) CompactRange.edgeKeys(start.size).forEach((k, i) => this.put(k.level, k.index, start.edge[i]!));
  }

  get size(): number {
    return this.range.size;
  }

  private put(level: number, index: number, hash: Buffer): void {
    while (this.levels.length <= level) {
      this.levels.push(Buffer.alloc(0));
      this.counts.push(0);
    }
    let buf = this.levels[level]!;
    const end = (index + 1) * HASH_SIZE;
    if (buf.length < end) {
      const grown = Buffer.alloc(Math.max(end, buf.length * 2, 1024 * HASH_SIZE));
      buf.copy(grown);
      this.levels[level] = buf = grown;
    }
    buf.set(hash, index * HASH_SIZE);
    if (index >= this.counts[level]!) this.counts[level] = index + 1;
  }

  private readonly store = (level: number, index: number, hash: Buffer): void => this.put(level, index, hash);

  append(leafHash: Buffer): void {
    this.range.append(leafHash, this.store);
  }

  readonly get: NodeGetter = (level, index) => {
    if (level >= this.levels.length || index >= this.counts[level]!) return undefined;
    return this.levels[level]!.subarray(index * HASH_SIZE, (index + 1) * HASH_SIZE);
  };

  root(): Buffer {
    return this.range.root();
  }

  rootAt(size: number): Buffer {
    if (size > this.size) throw new RangeError(`tree has ${this.size} leaves, not ${size}`);
    return rangeHash(0, size, this.get);
  }

  inclusionProof(index: number, size = this.size): Buffer[] {
    return hashRanges(inclusionRanges(index, size), this.get);
  }

  consistencyProof(m: number, size = this.size): Buffer[] {
    return hashRanges(consistencyRanges(m, size), this.get);
  }
}
