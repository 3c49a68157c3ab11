import { RegistoError } from '@registo/schemas';
import type { SqlTx } from '@registo/event-store';
import type { Cosignature } from './cosignature.js';
import {
  CompactRange,
  HASH_SIZE,
  type NodeKey,
  consistencyRanges,
  hashRanges,
  inclusionRanges,
  nodeKeyString,
  nodesFor,
  rangeHash,
  rangeNodes,
} from './merkle.js';

/*
 * The log's Merkle tree in PostgreSQL (or PGlite). One row per leaf: its leaf hash followed by
 * every perfect node that leaf completes, lowest level first. Node (L, j) is completed by leaf
 * (j+1)·2^L − 1 and sits at byte L·32 of that row, so any node is one primary-key probe and a
 * whole proof one query. About two hashes per leaf in all; rows are only ever inserted.
 *
 * `registo_audit_origin` holds the log's one origin (log-origin.ts).
 *
 * Checkpoints are a projection of the CheckpointSigned events, written in the same transaction
 * as the leaves (the checkpointer's own events come back to it through the log).
 */

export const AUDIT_TREE_DDL = `
CREATE TABLE IF NOT EXISTS registo_audit_tree (
  leaf_index bigint PRIMARY KEY,
  nodes bytea NOT NULL
);
CREATE TABLE IF NOT EXISTS registo_audit_checkpoints (
  tree_size bigint PRIMARY KEY,
  position bigint NOT NULL UNIQUE,
  root_hash bytea NOT NULL,
  note text NOT NULL,
  timestamp_token bytea,
  signed_at timestamptz NOT NULL
);
CREATE TABLE IF NOT EXISTS registo_audit_cosignatures (
  tree_size bigint NOT NULL,
  witness text NOT NULL,
  key_id text NOT NULL,
  signed_at_unix bigint NOT NULL,
  line text NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tree_size, witness, key_id)
);
CREATE TABLE IF NOT EXISTS registo_audit_origin (
  log boolean PRIMARY KEY DEFAULT true CHECK (log),
  origin text NOT NULL,
  pinned_at timestamptz NOT NULL DEFAULT now()
);`;

export interface TreeRow {
  leafIndex: number;
  /** Leaf hash ‖ completed nodes, level 1 upwards. */
  nodes: Buffer;
}

export interface StoredCheckpoint {
  treeSize: number;
  position: number;
  rootHash: Buffer;
  note: string;
  timestampToken: Buffer | null;
  signedAt: string;
}

const toBuffer = (v: unknown): Buffer => (Buffer.isBuffer(v) ? v : Buffer.from(v as Uint8Array));

/** The leaf whose row holds node (level, index). */
const rowOf = (k: NodeKey): number => (k.index + 1) * 2 ** k.level - 1;

/** Builds rows from leaf hashes appended to `range` (which it advances). */
export function appendLeaves(range: CompactRange, leafHashes: readonly Buffer[]): TreeRow[] {
  const rows: TreeRow[] = [];
  for (const leaf of leafHashes) {
    const parts: Buffer[] = [];
    const leafIndex = range.size;
    range.append(leaf, (_level, _index, hash) => parts.push(hash));
    rows.push({ leafIndex, nodes: Buffer.concat(parts) });
  }
  return rows;
}

export class SqlTreeStore {
  async size(db: SqlTx): Promise<number> {
    const [row] = await db.query<{ n: string | number }>('SELECT coalesce(max(leaf_index) + 1, 0) AS n FROM registo_audit_tree');
    return Number(row?.n ?? 0);
  }

  async insertRows(tx: SqlTx, rows: readonly TreeRow[]): Promise<void> {
    if (rows.length === 0) return;
    await tx.query(
      `INSERT INTO registo_audit_tree (leaf_index, nodes)
       SELECT i, decode(h, 'hex') FROM unnest($1::bigint[], $2::text[]) AS t(i, h)`,
      [rows.map((r) => r.leafIndex), rows.map((r) => r.nodes.toString('hex'))],
    );
  }

  /** Fetches perfect nodes; throws AUDIT_TREE_INCONSISTENT if one is not stored. */
  async nodes(db: SqlTx, keys: readonly NodeKey[]): Promise<Map<string, Buffer>> {
    const out = new Map<string, Buffer>();
    if (keys.length === 0) return out;
    const wanted = [...new Set(keys.map(rowOf))];
    const rows = await db.query<{ leaf_index: string | number; nodes: Uint8Array }>(
      'SELECT leaf_index, nodes FROM registo_audit_tree WHERE leaf_index = ANY($1::bigint[])',
      [wanted],
    );
    const byRow = new Map(rows.map((r) => [Number(r.leaf_index), toBuffer(r.nodes)]));
    for (const k of keys) {
      const row = byRow.get(rowOf(k));
      const hash = row?.subarray(k.level * HASH_SIZE, (k.level + 1) * HASH_SIZE);
      if (!hash || hash.length !== HASH_SIZE) {
        throw new RegistoError('AUDIT_TREE_INCONSISTENT', `tree node ${k.level}/${k.index} is not stored`, { level: k.level, index: k.index });
      }
      out.set(nodeKeyString(k), hash);
    }
    return out;
  }

  private async getter(db: SqlTx, keys: NodeKey[]): Promise<(level: number, index: number) => Buffer | undefined> {
    const map = await this.nodes(db, keys);
    return (level, index) => map.get(`${level}/${index}`);
  }

  /** The compact range of a tree of `size`, to continue appending. */
  async loadRange(db: SqlTx, size: number): Promise<CompactRange> {
    const keys = CompactRange.edgeKeys(size);
    const map = await this.nodes(db, keys);
    return CompactRange.fromEdge(size, keys.map((k) => map.get(nodeKeyString(k))!));
  }

  async rootAt(db: SqlTx, size: number): Promise<Buffer> {
    const get = await this.getter(db, rangeNodes(0, size));
    return rangeHash(0, size, get);
  }

  /** Inclusion proof of leaf `index` in the tree of `size`, with that tree's root and the leaf hash. */
  async inclusionProof(db: SqlTx, index: number, size: number): Promise<{ leafHash: Buffer; proof: Buffer[]; rootHash: Buffer }> {
    const ranges = inclusionRanges(index, size);
    const keys = [...nodesFor(ranges), { level: 0, index }, ...rangeNodes(0, size)];
    const get = await this.getter(db, keys);
    return { leafHash: get(0, index)!, proof: hashRanges(ranges, get), rootHash: rangeHash(0, size, get) };
  }

  async consistencyProof(db: SqlTx, m: number, size: number): Promise<{ proof: Buffer[]; firstRoot: Buffer; secondRoot: Buffer }> {
    const ranges = consistencyRanges(m, size);
    const get = await this.getter(db, [...nodesFor(ranges), ...rangeNodes(0, m), ...rangeNodes(0, size)]);
    return { proof: hashRanges(ranges, get), firstRoot: rangeHash(0, m, get), secondRoot: rangeHash(0, size, get) };
  }

  /** Leaf hashes of leaves [from, to), keyed by leaf index. */
  async leafHashes(db: SqlTx, from: number, to: number): Promise<Map<number, Buffer>> {
    const rows = await db.query<{ leaf_index: string | number; leaf: Uint8Array }>(
      'SELECT leaf_index, substring(nodes from 1 for 32) AS leaf FROM registo_audit_tree WHERE leaf_index >= $1 AND leaf_index < $2 ORDER BY leaf_index',
      [from, to],
    );
    return new Map(rows.map((r) => [Number(r.leaf_index), toBuffer(r.leaf)]));
  }

  async insertCheckpoint(tx: SqlTx, c: StoredCheckpoint): Promise<void> {
    await tx.query(
      `INSERT INTO registo_audit_checkpoints (tree_size, position, root_hash, note, timestamp_token, signed_at)
       VALUES ($1, $2, decode($3, 'hex'), $4, decode($5, 'hex'), $6) ON CONFLICT DO NOTHING`,
      [c.treeSize, c.position, c.rootHash.toString('hex'), c.note, c.timestampToken?.toString('hex') ?? null, c.signedAt],
    );
  }

  /** Keeps a verified witness cosignature (the newest per witness and checkpoint). */
  async insertCosignature(db: SqlTx, treeSize: number, c: Cosignature): Promise<void> {
    await db.query(
      `INSERT INTO registo_audit_cosignatures (tree_size, witness, key_id, signed_at_unix, line) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (tree_size, witness, key_id) DO UPDATE SET signed_at_unix = EXCLUDED.signed_at_unix, line = EXCLUDED.line, received_at = now()`,
      [treeSize, c.witness, c.keyId, c.timestamp, c.line],
    );
  }

  async cosignatures(db: SqlTx, treeSize: number): Promise<Cosignature[]> {
    const rows = await db.query<{ witness: string; key_id: string; signed_at_unix: string; line: string }>(
      'SELECT witness, key_id, signed_at_unix, line FROM registo_audit_cosignatures WHERE tree_size = $1 ORDER BY witness',
      [treeSize],
    );
    return rows.map((r) => ({ witness: r.witness, keyId: r.key_id, timestamp: Number(r.signed_at_unix), line: r.line }));
  }

  /** Checkpoints by tree size; `afterPosition` keeps those whose CheckpointSigned event lies after it. */
  async checkpoints(db: SqlTx, options: { fromSize?: number; toSize?: number; limit?: number; latest?: boolean; afterPosition?: number } = {}): Promise<StoredCheckpoint[]> {
    const rows = await db.query<{ tree_size: string; position: string; root_hash: Uint8Array; note: string; timestamp_token: Uint8Array | null; signed_at: Date | string }>(
      `SELECT tree_size, position, root_hash, note, timestamp_token, signed_at FROM registo_audit_checkpoints
        WHERE tree_size >= $1 AND tree_size <= $2 AND position > $4 ORDER BY tree_size ${options.latest ? 'DESC' : 'ASC'} LIMIT $3`,
      [options.fromSize ?? 0, options.toSize ?? Number.MAX_SAFE_INTEGER, options.limit ?? 100, options.afterPosition ?? 0],
    );
    return rows.map((r) => ({
      treeSize: Number(r.tree_size),
      position: Number(r.position),
      rootHash: toBuffer(r.root_hash),
      note: r.note,
      timestampToken: r.timestamp_token ? toBuffer(r.timestamp_token) : null,
      signedAt: new Date(r.signed_at).toISOString(),
    }));
  }
}
