import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { RegistoError, type SealedData } from '@registo/schemas';
import type { SqlDriver } from '@registo/event-store';
import type { KeyWrapper } from './key-wrapper.js';

export const SUBJECT_KEYS_DDL = `
CREATE TABLE IF NOT EXISTS registo_subject_keys (
  subject_id text PRIMARY KEY,
  key_version int NOT NULL,
  kek_id text NOT NULL,
  wrapped bytea,
  created_at timestamptz NOT NULL DEFAULT now(),
  destroyed_at timestamptz
);`;

const b64u = (b: Buffer): string => b.toString('base64url');

/**
 * Seals personal data per subject: AES-256-GCM under the subject's own data key, the data
 * key stored only wrapped by the KEK. Destroying a subject's key (erasure) makes every copy
 * of its sealed data — in the log, on Kafka, in backups — unreadable, while hashes and
 * signatures over the ciphertext still verify.
 */
export class SubjectSealer {
  private constructor(
    private readonly db: SqlDriver,
    private readonly wrapper: KeyWrapper,
  ) {}

  static async open(db: SqlDriver, wrapper: KeyWrapper): Promise<SubjectSealer> {
    await db.migrate(SUBJECT_KEYS_DDL);
    return new SubjectSealer(db, wrapper);
  }

  private async dataKey(subjectId: string, create: boolean): Promise<{ key: Buffer; version: number }> {
    const rows = await this.db.query<{ key_version: number; wrapped: Buffer | Uint8Array | null; destroyed_at: unknown }>(
      'SELECT key_version, wrapped, destroyed_at FROM registo_subject_keys WHERE subject_id = $1',
      [subjectId],
    );
    const row = rows[0];
    if (row?.destroyed_at || (row && !row.wrapped)) {
      throw new RegistoError('SUBJECT_KEY_DESTROYED', `the data key of subject ${subjectId} was destroyed; its data is gone`, { subjectId });
    }
    if (row) return { key: await this.wrapper.unwrap(Buffer.from(row.wrapped!)), version: row.key_version };
    if (!create) throw new RegistoError('SUBJECT_KEY_UNAVAILABLE', `no data key for subject ${subjectId}`, { subjectId });
    const key = randomBytes(32);
    // Two sealers racing for a new subject: the first insert wins, the loser reads it back.
    await this.db.query(
      'INSERT INTO registo_subject_keys (subject_id, key_version, kek_id, wrapped) VALUES ($1, 1, $2, $3) ON CONFLICT (subject_id) DO NOTHING',
      [subjectId, this.wrapper.kekId, await this.wrapper.wrap(key)],
    );
    return this.dataKey(subjectId, false);
  }

  async seal(subjectId: string, personalData: unknown): Promise<SealedData> {
    const { key, version } = await this.dataKey(subjectId, true);
    const iv = randomBytes(12);
    const c = createCipheriv('aes-256-gcm', key, iv);
    // The subject id is bound in as associated data: a ciphertext moved to another subject fails.
    c.setAAD(Buffer.from(subjectId));
    const body = Buffer.concat([c.update(JSON.stringify(personalData), 'utf8'), c.final(), c.getAuthTag()]);
    return { subjectId, keyVersion: version, alg: 'A256GCM', iv: b64u(iv), ciphertext: b64u(body) };
  }

  async open<T = unknown>(sealed: SealedData): Promise<T> {
    const { key } = await this.dataKey(sealed.subjectId, false);
    const body = Buffer.from(sealed.ciphertext, 'base64url');
    if (body.length < 16) throw new RegistoError('SEALED_DATA_INVALID', 'sealed data is too short', { subjectId: sealed.subjectId });
    try {
      const d = createDecipheriv('aes-256-gcm', key, Buffer.from(sealed.iv, 'base64url'));
      d.setAAD(Buffer.from(sealed.subjectId));
      d.setAuthTag(body.subarray(body.length - 16));
      return JSON.parse(Buffer.concat([d.update(body.subarray(0, body.length - 16)), d.final()]).toString('utf8')) as T;
    } catch {
      throw new RegistoError('SEALED_DATA_INVALID', `sealed data of subject ${sealed.subjectId} does not authenticate`, { subjectId: sealed.subjectId });
    }
  }

  /**
   * Start-up check: one stored data key unwraps under this KEK. A platform started with another
   * key file than the one its database was first started with would otherwise answer every
   * read of personal data with SUBJECT_KEY_UNAVAILABLE; it refuses to start instead, naming
   * where its KEK came from (`source`) and what to check.
   */
  async assertKekOpensStoredKeys(source: string): Promise<void> {
    const rows = await this.db.query<{ subject_id: string; kek_id: string; wrapped: Buffer | Uint8Array }>(
      'SELECT subject_id, kek_id, wrapped FROM registo_subject_keys WHERE wrapped IS NOT NULL ORDER BY created_at LIMIT 1',
    );
    const row = rows[0];
    if (!row) return;
    try {
      await this.wrapper.unwrap(Buffer.from(row.wrapped));
    } catch (e) {
      if (!(e instanceof RegistoError) || e.code !== 'SUBJECT_KEY_UNAVAILABLE') throw e;
      throw new RegistoError(
        'KEK_MISMATCH',
        `the personal data in this database was sealed under another key-encryption key than ${this.wrapper.kekId} of ${source} (the stored data keys do not unwrap): ` +
          'start with the key file (REGISTO_KEYS_FILE, or REGISTO_DATA_DIR/keys/software-keys.json) the database was first started with, ' +
          'or start over on an empty database (`registo reset`, README "Starting over")',
        { kekId: this.wrapper.kekId, storedKekId: row.kek_id, source },
      );
    }
  }

  /** Erasure: the wrapped key is overwritten and the row marked; nothing can open the data again. */
  async destroy(subjectId: string): Promise<void> {
    await this.db.query(
      `INSERT INTO registo_subject_keys (subject_id, key_version, kek_id, wrapped, destroyed_at) VALUES ($1, 1, $2, NULL, now())
       ON CONFLICT (subject_id) DO UPDATE SET wrapped = NULL, destroyed_at = coalesce(registo_subject_keys.destroyed_at, now())`,
      [subjectId, this.wrapper.kekId],
    );
  }
}
