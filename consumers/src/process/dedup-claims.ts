import type { SqlDriver } from '@registo/event-store';

/**
 * Demographic de-duplication needs an answer that does not depend on which of two packets
 * of the same person reaches an identity first: the first enrollment to claim a person's key
 * (the blind index of their civil-registry or permit number) holds it, every later one is a
 * suspected duplicate of it. The insert is atomic, so two packets processed at the same
 * moment cannot both pass. Owned by the enrollment process; rebuilt by re-running it.
 */
export const DEDUP_DDL = `
CREATE TABLE IF NOT EXISTS registo_dedup_claims (
  person_key text PRIMARY KEY,
  reg_id text NOT NULL,
  claimed_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS registo_enrollment_uins (
  reg_id text PRIMARY KEY,
  uin text NOT NULL
);`;

export class DedupClaims {
  constructor(private readonly db: SqlDriver) {}

  async migrate(): Promise<void> {
    await this.db.migrate(DEDUP_DDL);
  }

  /** Claims the key for regId; returns the registration id that holds it (regId itself if it won). */
  async claim(personKey: string, regId: string): Promise<string> {
    // One statement: the no-op update makes the conflicting row come back with its holder.
    const rows = await this.db.query<{ reg_id: string }>(
      `INSERT INTO registo_dedup_claims (person_key, reg_id) VALUES ($1, $2)
       ON CONFLICT (person_key) DO UPDATE SET person_key = EXCLUDED.person_key RETURNING reg_id`,
      [personKey, regId],
    );
    return rows[0]!.reg_id;
  }

  async recordUin(regId: string, uin: string): Promise<void> {
    await this.db.query('INSERT INTO registo_enrollment_uins (reg_id, uin) VALUES ($1, $2) ON CONFLICT (reg_id) DO NOTHING', [regId, uin]);
  }

  async uinOf(regId: string): Promise<string | null> {
    const rows = await this.db.query<{ uin: string }>('SELECT uin FROM registo_enrollment_uins WHERE reg_id = $1', [regId]);
    return rows[0]?.uin ?? null;
  }
}

/** How a suspected duplicate names the earlier enrollment when it has no identity yet. */
export const pendingCandidate = (regId: string): string => `enrollment:${regId}`;
