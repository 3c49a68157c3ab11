import { createHash } from 'node:crypto';
import { expect } from 'chai';
import {
  CompactRange,
  EMPTY_ROOT,
  MemoryTree,
  consistencyRanges,
  hashChildren,
  hashLeaf,
  hashRanges,
  inclusionRanges,
  rangeHash,
  splitPoint,
  verifyConsistency,
  verifyInclusion,
} from '../src/index.js';

const hex = (b: Buffer): string => b.toString('hex');
const sha = (b: Buffer): Buffer => createHash('sha256').update(b).digest();

/*
 * Published test vectors: the eight leaves and the tree heads of google/certificate-transparency
 * (python/ct/crypto/merkle_test.py TreeHasherTest.test_vector_leaves / test_vector_hashes; the same
 * vectors are in its C++ cpp/merkletree/merkle_tree_test.cc), with the inclusion paths and the
 * consistency proofs of those tests (MerkleVerifierTest.sha256_proofs).
 */
const CT_LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map((h) => Buffer.from(h, 'hex'));
const CT_ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
];
const CT_INCLUSION: Array<[number, number, string[]]> = [
  [0, 1, []],
  [0, 8, ['96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4']],
  [5, 8, ['bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b', 'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7']],
  [2, 3, ['fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125']],
  [1, 5, ['6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', 'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b']],
];
const CT_CONSISTENCY: Array<[number, number, string[]]> = [
  [1, 1, []],
  [1, 8, ['96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7', '5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', '6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4']],
  [6, 8, ['0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a', 'ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0', 'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7']],
  [2, 5, ['5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e', 'bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b']],
];

/** A literal transcription of RFC 9162 §2.1.1–2.1.4 over leaf data, to compare against. */
const mth = (d: Buffer[]): Buffer => (d.length === 0 ? sha(Buffer.alloc(0)) : d.length === 1 ? hashLeaf(d[0]!) : hashChildren(mth(d.slice(0, splitPoint(d.length))), mth(d.slice(splitPoint(d.length)))));
const path = (m: number, d: Buffer[]): Buffer[] => {
  if (d.length <= 1) return [];
  const k = splitPoint(d.length);
  return m < k ? [...path(m, d.slice(0, k)), mth(d.slice(k))] : [...path(m - k, d.slice(k)), mth(d.slice(0, k))];
};
const subproof = (m: number, d: Buffer[], b: boolean): Buffer[] => {
  if (m === d.length) return b ? [] : [mth(d)];
  const k = splitPoint(d.length);
  return m <= k ? [...subproof(m, d.slice(0, k), b), mth(d.slice(k))] : [...subproof(m - k, d.slice(k), false), mth(d.slice(0, k))];
};

function treeOf(data: Buffer[]): MemoryTree {
  const t = new MemoryTree();
  for (const d of data) t.append(hashLeaf(d));
  return t;
}

describe('RFC 6962 Merkle tree', () => {
  it('hashes the empty tree, leaves and nodes as RFC 6962 does (certificate-transparency vectors)', () => {
    expect(hex(EMPTY_ROOT)).to.equal('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(hex(hashLeaf(Buffer.alloc(0)))).to.equal('6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d');
    expect(hex(hashLeaf(Buffer.from('101112131415161718191a1b1c1d1e1f', 'hex')))).to.equal('3bfb960453ebaebf33727da7a1f4db38acc051d381b6da20d6d4e88f0eabfd7a');
    expect(
      hex(hashChildren(Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex'), Buffer.from('202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f', 'hex'))),
    ).to.equal('1a378704c17da31e2d05b6d121c2bb2c7d76f6ee6fa8f983e596c2d034963c57');
  });

  it('reproduces the published tree heads for sizes 1..8, incrementally and from stored nodes', () => {
    const t = treeOf(CT_LEAVES);
    const range = CompactRange.empty();
    for (let n = 1; n <= 8; n++) {
      range.append(hashLeaf(CT_LEAVES[n - 1]!));
      expect(hex(range.root()), `compact ${n}`).to.equal(CT_ROOTS[n - 1]);
      expect(hex(t.rootAt(n)), `stored ${n}`).to.equal(CT_ROOTS[n - 1]);
    }
  });

  it('produces the published inclusion paths and they verify', () => {
    const t = treeOf(CT_LEAVES);
    for (const [index, size, expected] of CT_INCLUSION) {
      const proof = t.inclusionProof(index, size);
      expect(proof.map(hex), `${index}@${size}`).to.deep.equal(expected);
      expect(verifyInclusion(hashLeaf(CT_LEAVES[index]!), index, size, proof, Buffer.from(CT_ROOTS[size - 1]!, 'hex'))).to.equal(true);
    }
  });

  it('produces the published consistency proofs and they verify', () => {
    const t = treeOf(CT_LEAVES);
    for (const [m, n, expected] of CT_CONSISTENCY) {
      const proof = t.consistencyProof(m, n);
      expect(proof.map(hex), `${m}→${n}`).to.deep.equal(expected);
      expect(verifyConsistency(m, Buffer.from(CT_ROOTS[m - 1]!, 'hex'), n, Buffer.from(CT_ROOTS[n - 1]!, 'hex'), proof)).to.equal(true);
    }
  });

  it('matches the RFC 9162 §2.1.5 worked example (seven leaves)', () => {
    const d = Array.from({ length: 7 }, (_, i) => Buffer.from(`d${i}`));
    const [a, b, c, dd, e, f] = d.slice(0, 6).map(hashLeaf) as Buffer[];
    const j = hashLeaf(d[6]!); // the lone d6 leaf is node j
    const g = hashChildren(a!, b!);
    const h = hashChildren(c!, dd!);
    const i = hashChildren(e!, f!);
    const k = hashChildren(g, h);
    const l = hashChildren(i, j);
    const root = hashChildren(k, l);
    const t = treeOf(d);
    expect(t.root().equals(root)).to.equal(true);
    // "The inclusion proof for d0 is [b, h, l] … d3 is [c, g, l] … d4 is [f, j, k] … d6 is [i, k]."
    expect(t.inclusionProof(0).map(hex)).to.deep.equal([b!, h, l].map(hex));
    expect(t.inclusionProof(3).map(hex)).to.deep.equal([c!, g, l].map(hex));
    expect(t.inclusionProof(4).map(hex)).to.deep.equal([f!, j, k].map(hex));
    expect(t.inclusionProof(6).map(hex)).to.deep.equal([i, k].map(hex));
    // "PROOF(3, D[7]) = [c, d, g, l] … PROOF(4, D[7]) = [l] … PROOF(6, D[7]) = [i, j, k]."
    expect(t.consistencyProof(3).map(hex)).to.deep.equal([c!, dd!, g, l].map(hex));
    expect(t.consistencyProof(4).map(hex)).to.deep.equal([l].map(hex));
    expect(t.consistencyProof(6).map(hex)).to.deep.equal([i, j, k].map(hex));
  });

  it('for every tree of size 1..300, every inclusion proof equals the RFC recursion and verifies; a wrong one does not', function () {
    this.timeout(120_000);
    const data = Array.from({ length: 300 }, (_, i) => Buffer.from(`leaf-${i}`));
    const t = treeOf(data);
    const leaves = data.map(hashLeaf);
    for (let size = 1; size <= 300; size++) {
      const root = t.rootAt(size);
      expect(root.equals(mth(data.slice(0, size))), `root ${size}`).to.equal(true);
      for (let index = 0; index < size; index++) {
        const proof = t.inclusionProof(index, size);
        if (size <= 64) expect(proof.map(hex)).to.deep.equal(path(index, data.slice(0, size)).map(hex));
        expect(verifyInclusion(leaves[index]!, index, size, proof, root), `${index}@${size}`).to.equal(true);
        if (size > 1) expect(verifyInclusion(leaves[(index + 1) % size]!, index, size, proof, root), `wrong leaf ${index}@${size}`).to.equal(false);
      }
    }
  });

  it('for sizes 1..300, consistency proofs from every earlier size equal the RFC recursion and verify', function () {
    this.timeout(120_000);
    const data = Array.from({ length: 300 }, (_, i) => Buffer.from(`leaf-${i}`));
    const t = treeOf(data);
    const roots = Array.from({ length: 301 }, (_, n) => t.rootAt(n));
    for (let n = 1; n <= 300; n++) {
      for (let m = 1; m <= n; m += n > 100 ? 7 : 1) {
        const proof = t.consistencyProof(m, n);
        if (n <= 64) expect(proof.map(hex)).to.deep.equal(subproof(m, data.slice(0, n), true).map(hex));
        expect(verifyConsistency(m, roots[m]!, n, roots[n]!, proof), `${m}→${n}`).to.equal(true);
        if (m < n) expect(verifyConsistency(m, roots[m === 1 ? 2 : m - 1]!, n, roots[n]!, proof), `wrong root ${m}→${n}`).to.equal(false);
      }
    }
  });

  it('refuses malformed and out-of-range proofs without throwing', () => {
    const t = treeOf(CT_LEAVES);
    const root = t.root();
    const proof = t.inclusionProof(5);
    const leaf = hashLeaf(CT_LEAVES[5]!);
    expect(verifyInclusion(leaf, 5, 8, proof.slice(0, -1), root)).to.equal(false);
    expect(verifyInclusion(leaf, 5, 8, [...proof, EMPTY_ROOT], root)).to.equal(false);
    expect(verifyInclusion(leaf, 8, 8, proof, root)).to.equal(false);
    expect(verifyInclusion(leaf, 5, 8, [Buffer.from('short')], root)).to.equal(false);
    const flipped = proof.map((p) => Buffer.from(p));
    flipped[1]![3]! ^= 1;
    expect(verifyInclusion(leaf, 5, 8, flipped, root)).to.equal(false);
    const c = t.consistencyProof(6);
    expect(verifyConsistency(6, t.rootAt(6), 8, root, c.slice(0, -1))).to.equal(false);
    expect(verifyConsistency(8, root, 6, t.rootAt(6), [])).to.equal(false);
    expect(verifyConsistency(8, root, 8, root, [])).to.equal(true);
    expect(verifyConsistency(0, EMPTY_ROOT, 8, root, [])).to.equal(true);
    expect(() => inclusionRanges(8, 8)).to.throw(RangeError);
    expect(() => consistencyRanges(0, 8)).to.throw(RangeError);
  });

  it('restores a compact range from stored edge nodes and carries on to the same roots', () => {
    const data = Array.from({ length: 77 }, (_, i) => Buffer.from(`x${i}`));
    const t = treeOf(data);
    for (const size of [0, 1, 2, 3, 31, 32, 33, 64, 76]) {
      const keys = CompactRange.edgeKeys(size);
      const range = CompactRange.fromEdge(size, keys.map((k) => t.get(k.level, k.index)!));
      expect(range.root().equals(t.rootAt(size))).to.equal(true);
      for (let i = size; i < 77; i++) range.append(hashLeaf(data[i]!));
      expect(range.root().equals(t.root())).to.equal(true);
    }
    expect(hashRanges([{ start: 3, end: 9 }], t.get)[0]!.equals(mth(data.slice(3, 9)))).to.equal(true);
    expect(rangeHash(0, 0, t.get).equals(EMPTY_ROOT)).to.equal(true);
  });
});
