import { createHash } from 'node:crypto';
import type { Logger } from '@registo/base';
import type { EventStore, SqlDriver } from '@registo/event-store';
import type { Signer } from '@registo/hsm';
import type { Timestamper } from '@registo/trust';
import {
  CONSUMER_OFFSETS_DDL,
  STORE_SOURCE,
  StoreEventSource,
  coordinateKey,
  type Delivery,
  type EventSource,
} from '@registo/messaging';
import {
  AUDIT_CHECKPOINT_STREAM,
  AUDIT_TREE_DDL,
  CompactRange,
  PREVIOUS_EXTENSION,
  SIGNER_MODE_EXTENSION,
  SqlTreeStore,
  appendLeaves,
  ecdsaKeyId,
  formatCheckpointBody,
  hashLeaf,
  leafData,
  noteDigest,
  signNote,
  verifyConsistency,
} from '@registo/audit';
import { CATEGORIES, IntegrityError, RegistoError, expectEventOf, isRegistoError, type EventEnvelope, type TypedEnvelope } from '@registo/schemas';
import { readStreamOf } from '@registo/producers';
import { type CheckpointCadence, DEFAULT_CADENCE, checkpointDue } from './policy.js';

export const CHECKPOINTER_NAME = 'checkpointer';
export const CHECKPOINT_STREAM = AUDIT_CHECKPOINT_STREAM;
export const CHECKPOINT_TYPE = 'CheckpointSigned';

export interface CheckpointerOptions {
  store: EventStore;
  db: SqlDriver;
  /** The checkpoint key (the hierarchy's checkpoint_signer): ECDSA P-256, DER signatures. */
  signer: Signer;
  /** Checkpoint origin and note key name, e.g. `registo.example/audit`. */
  origin: string;
  /** RFC 3161 authority; without one, checkpoints carry no timestamp (and say nothing false). */
  timestamper?: Timestamper | null;
  cadence?: Partial<CheckpointCadence>;
  /**
   * Where leaves come from. The tree needs the log in global order with no gap, which the store's
   * own subscription gives; Kafka's per-category topics do not, so the default is the store.
   */
  source?: EventSource;
  logger?: Logger;
}

interface LastCheckpoint {
  origin: string;
  treeSize: number;
  rootHash: Buffer;
  noteSha256: string;
  revision: number;
  signedAtMs: number;
}

export interface CheckpointerStatus {
  treeSize: number;
  checkpoint: { treeSize: number; signedAt: string } | null;
  signed: number;
  failures: number;
}

/**
 * Maintains the log's RFC 6962 tree in SQL and signs chained C2SP checkpoints (docs/audit.md).
 *
 * Each batch of events is one transaction: the leaves' rows, the checkpoints projected from
 * CheckpointSigned events and the consumer offset commit together, so a crash neither skips nor
 * doubles a leaf. Signing happens outside it, from the committed tree: before each signature
 * the stored tree is checked against the previous checkpoint (same root at its size, and a
 * consistency proof that verifies), so two inconsistent checkpoints are never signed. The
 * CheckpointSigned event is appended with the stream's expected revision, so two checkpointers
 * cannot both extend the chain.
 */
export class Checkpointer {
  private readonly tree = new SqlTreeStore();
  private readonly cadence: CheckpointCadence;
  private readonly source: EventSource;
  private range: CompactRange | null = null;
  private last: LastCheckpoint | null = null;
  private lastOtherPosition = 0;
  private timer: NodeJS.Timeout | null = null;
  private signing: Promise<void> | null = null;
  private stopping = false;
  private readonly counters = { signed: 0, failures: 0 };

  constructor(private readonly options: CheckpointerOptions) {
    this.cadence = { ...DEFAULT_CADENCE, ...options.cadence };
    this.source = options.source ?? new StoreEventSource(options.store);
  }

  async migrate(): Promise<void> {
    await this.options.db.migrate(CONSUMER_OFFSETS_DDL);
    await this.options.db.migrate(AUDIT_TREE_DDL);
  }

  status(): CheckpointerStatus {
    return {
      treeSize: this.range?.size ?? 0,
      checkpoint: this.last ? { treeSize: this.last.treeSize, signedAt: new Date(this.last.signedAtMs).toISOString() } : null,
      ...this.counters,
    };
  }

  async run(): Promise<void> {
    await this.migrate();
    const { db, store } = this.options;
    const size = await this.storedSize();
    this.range = await this.tree.loadRange(db, size);
    await this.loadLastCheckpoint();
    // One log, one origin: a chain signed under one name is never continued under another.
    if (this.last && this.last.origin !== this.options.origin) {
      throw new RegistoError('AUDIT_ORIGIN_CHANGED', `the checkpoint chain is for origin '${this.last.origin}', not '${this.options.origin}': nothing signed`, { pinned: this.last.origin, configured: this.options.origin });
    }
    // After a restart the timer may sign again unless all that is new is the last checkpoint's own event.
    if (size > 0) {
      const [head] = await store.readAll({ fromPosition: size, maxCount: 1, verify: false });
      const onlyItsOwnEvent = head?.type === CHECKPOINT_TYPE && (this.last?.treeSize ?? 0) >= size - 1;
      this.lastOtherPosition = onlyItsOwnEvent ? 0 : size;
    }
    if (this.stopping) return;
    const tickMs = Math.max(20, Math.min(250, Math.floor(this.cadence.intervalMs / 4)));
    this.timer = setInterval(() => this.tick(), tickMs);
    try {
      await this.source.run({
        name: CHECKPOINTER_NAME,
        categories: CATEGORIES,
        resumeFrom: async () => new Map([[coordinateKey({ source: STORE_SOURCE, partition: 0 }), await this.storedSize()]]),
        handle: (batch) => this.handle(batch),
      });
    } finally {
      if (this.timer) clearInterval(this.timer);
      this.timer = null;
      await this.signing;
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    await this.source.stop();
    await this.signing;
  }

  /** Signs now if anything is pending, whatever the cadence (tests, and a clean shutdown). */
  async flush(): Promise<void> {
    await this.signing;
    if (!this.range || (this.last?.treeSize ?? 0) >= this.range.size) return;
    await (this.signing = this.sign().finally(() => (this.signing = null)));
  }

  private async storedSize(): Promise<number> {
    const rows = await this.options.db.query<{ offset: string }>(
      `SELECT "offset" FROM registo_consumer_offsets WHERE consumer = $1 AND source = $2 AND partition = 0`,
      [CHECKPOINTER_NAME, STORE_SOURCE],
    );
    const offset = Number(rows[0]?.offset ?? 0);
    const treeSize = await this.tree.size(this.options.db);
    if (offset !== treeSize) {
      throw new RegistoError('AUDIT_TREE_INCONSISTENT', `the checkpointer's offset (${offset}) and its tree (${treeSize} leaves) disagree`, { offset, treeSize });
    }
    return offset;
  }

  private async loadLastCheckpoint(): Promise<void> {
    const [event] = await readStreamOf(this.options.store, 'audit', CHECKPOINT_STREAM, { direction: 'backwards', maxCount: 1 });
    this.last = event
      ? {
          origin: event.data.origin,
          treeSize: event.data.treeSize,
          rootHash: Buffer.from(event.data.rootHash, 'hex'),
          noteSha256: event.data.noteSha256,
          revision: event.revision,
          signedAtMs: Date.parse(event.data.signedAt),
        }
      : null;
  }

  private async handle(batch: Delivery[]): Promise<void> {
    const next = await this.options.db.transaction(async (tx) => {
      const rows = await tx.query<{ offset: string }>(
        `SELECT "offset" FROM registo_consumer_offsets WHERE consumer = $1 AND source = $2 AND partition = 0 FOR UPDATE`,
        [CHECKPOINTER_NAME, STORE_SOURCE],
      );
      const stored = Number(rows[0]?.offset ?? 0);
      // Another instance may have moved on: continue from what is committed, not from memory.
      const range = stored === this.range?.size ? this.range.clone() : await this.tree.loadRange(tx, stored);
      const leaves: Buffer[] = [];
      const checkpoints: Array<TypedEnvelope<'CheckpointSigned'>> = [];
      let lastOther = 0;
      for (const d of batch) {
        if (d.kind !== 'event') throw new RegistoError('AUDIT_TREE_INCONSISTENT', `undecodable message at offset ${d.coordinates.offset}: the tree cannot skip it`, { offset: d.coordinates.offset });
        const event = d.event;
        if (event.position <= stored + leaves.length) continue; // redelivered after a crash
        if (event.position !== stored + leaves.length + 1) {
          throw new RegistoError('AUDIT_TREE_INCONSISTENT', `position ${stored + leaves.length + 1} is missing from the log (next delivered: ${event.position})`, { position: stored + leaves.length + 1 });
        }
        leaves.push(this.leafOf(event));
        if (event.type === CHECKPOINT_TYPE) checkpoints.push(expectEventOf('audit', event));
        else lastOther = event.position;
      }
      if (leaves.length === 0) return null;
      await this.tree.insertRows(tx, appendLeaves(range, leaves));
      for (const c of checkpoints) {
        await this.tree.insertCheckpoint(tx, {
          treeSize: c.data.treeSize,
          position: c.position,
          rootHash: Buffer.from(c.data.rootHash, 'hex'),
          note: c.data.note,
          timestampToken: c.data.timestampToken ? Buffer.from(c.data.timestampToken, 'base64') : null,
          signedAt: c.data.signedAt,
        });
      }
      await tx.query(
        `INSERT INTO registo_consumer_offsets (consumer, source, partition, "offset") VALUES ($1, $2, 0, $3)
         ON CONFLICT (consumer, source, partition) DO UPDATE SET "offset" = EXCLUDED."offset", updated_at = now()`,
        [CHECKPOINTER_NAME, STORE_SOURCE, range.size],
      );
      return { range, lastOther };
    });
    if (!next) return;
    this.range = next.range;
    if (next.lastOther > 0) this.lastOtherPosition = next.lastOther;
    this.tick();
  }

  /** The leaf hash, after checking the event still matches its own hash: a changed event is never added. */
  private leafOf(event: EventEnvelope): Buffer {
    const data = leafData(event);
    const computed = createHash('sha256').update(data).digest('hex');
    if (computed !== event.hash) throw new IntegrityError(event.position, event.eventId, event.hash, computed);
    return hashLeaf(data);
  }

  private tick(): void {
    if (this.signing || this.stopping || !this.range) return;
    const decision = checkpointDue(
      { treeSize: this.range.size, checkpointSize: this.last?.treeSize ?? 0, checkpointAtMs: this.last?.signedAtMs ?? 0, lastOtherPosition: this.lastOtherPosition },
      Date.now(),
      this.cadence,
    );
    if (!decision.due) return;
    this.signing = this.sign()
      .catch((e) => {
        this.counters.failures++;
        this.options.logger?.error({ err: e }, 'checkpoint not signed');
      })
      .finally(() => (this.signing = null));
  }

  private async sign(): Promise<void> {
    const { signer, origin, store } = this.options;
    const range = this.range!;
    const size = range.size;
    const root = range.root();
    const last = this.last;
    if (last && size <= last.treeSize) return;
    if (last) await this.checkConsistency(last, size, root);
    const spki = await signer.publicKeySpki();
    const extensions: string[] = [];
    if (last) extensions.push(`${PREVIOUS_EXTENSION} ${Buffer.from(last.noteSha256, 'hex').toString('base64')}`);
    if (signer.mode === 'non_qualified') extensions.push(`${SIGNER_MODE_EXTENSION} non_qualified`);
    const body = formatCheckpointBody({ origin, treeSize: size, rootHash: root, extensions });
    const note = await signNote(body, origin, spki, (data) => signer.sign(data));
    const digest = noteDigest(note);
    const token = this.options.timestamper ? await this.options.timestamper.timestamp({ messageImprint: digest, certReq: true }) : null;
    const signedAt = new Date();
    try {
      const result = await store.append(
        CHECKPOINT_STREAM,
        [
          {
            type: CHECKPOINT_TYPE,
            data: {
              origin,
              treeSize: size,
              rootHash: root.toString('hex'),
              note,
              noteSha256: digest.toString('hex'),
              previousNoteSha256: last?.noteSha256 ?? null,
              keyId: ecdsaKeyId(spki).toString('hex'),
              signerMode: signer.mode,
              timestampToken: token ? token.toString('base64') : null,
              signedAt: signedAt.toISOString(),
            },
            metadata: { actor: { id: CHECKPOINTER_NAME, role: 'system' } },
          },
        ],
        { expectedRevision: last ? last.revision : 'no_stream' },
      );
      this.last = { origin, treeSize: size, rootHash: root, noteSha256: digest.toString('hex'), revision: result.nextExpectedRevision, signedAtMs: signedAt.getTime() };
      this.counters.signed++;
      this.options.logger?.debug({ treeSize: size, position: result.position }, 'checkpoint signed');
    } catch (e) {
      if (!isRegistoError(e, 'WRONG_EXPECTED_REVISION')) throw e;
      // Another checkpointer extended the chain first: follow its chain, sign nothing now.
      this.options.logger?.warn({ treeSize: size }, 'another checkpointer signed first; following its chain');
      await this.loadLastCheckpoint();
    }
  }

  /** The committed tree must extend the last checkpoint: same root at its size, and a proof that says so. */
  private async checkConsistency(last: LastCheckpoint, size: number, root: Buffer): Promise<void> {
    const { db } = this.options;
    if (last.treeSize === 0) return;
    const proof = await this.tree.consistencyProof(db, last.treeSize, size);
    if (!proof.firstRoot.equals(last.rootHash) || !proof.secondRoot.equals(root) || !verifyConsistency(last.treeSize, last.rootHash, size, root, proof.proof)) {
      throw new RegistoError('AUDIT_TREE_INCONSISTENT', `the tree of ${size} leaves is not consistent with the checkpoint of ${last.treeSize}: nothing signed`, {
        checkpointSize: last.treeSize,
        treeSize: size,
      });
    }
  }
}
