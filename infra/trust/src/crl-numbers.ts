import type { SqlDriver } from '@registo/event-store';

/**
 * CRL numbers per CA (RFC 5280 §5.2.3): one strictly increasing sequence per CA, shared by its full
 * and delta CRLs — a publication takes one number and both lists issued in it carry it — and never
 * reused after a restart, or across replicas, since the increment is one statement.
 */
export interface CrlNumberStore {
  /** The next number of `ca`'s CRL sequence (1 the first time). */
  next(ca: string): Promise<number>;
}

const DDL = `
CREATE TABLE IF NOT EXISTS trust_crl_numbers (
  ca          text PRIMARY KEY,
  last_number bigint NOT NULL
);`;

/** The numbers in a small table through `SqlDriver`, so PostgreSQL and PGlite both keep them. */
export class SqlCrlNumberStore implements CrlNumberStore {
  private constructor(private readonly db: SqlDriver) {}

  static async open(db: SqlDriver): Promise<SqlCrlNumberStore> {
    await db.migrate(DDL);
    return new SqlCrlNumberStore(db);
  }

  async next(ca: string): Promise<number> {
    const rows = await this.db.query<{ last_number: string | number }>(
      `INSERT INTO trust_crl_numbers (ca, last_number) VALUES ($1, 1)
       ON CONFLICT (ca) DO UPDATE SET last_number = trust_crl_numbers.last_number + 1
       RETURNING last_number`,
      [ca],
    );
    return Number(rows[0]!.last_number);
  }
}

/** Numbers that last as long as the process (tests, the bench). */
export class InMemoryCrlNumberStore implements CrlNumberStore {
  private readonly last = new Map<string, number>();
  async next(ca: string): Promise<number> {
    const n = (this.last.get(ca) ?? 0) + 1;
    this.last.set(ca, n);
    return n;
  }
}
