import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import type { SqlDriver, SqlTx } from './sql-driver.js';

/** Embedded PostgreSQL (WASM) in this process: `npm start` on a bare machine. */
export class PGliteDriver implements SqlDriver {
  readonly name = 'pglite' as const;
  readonly db: PGlite;

  private constructor(db: PGlite) {
    this.db = db;
  }

  /** `dataDir` undefined: in memory (tests). */
  static async open(dataDir?: string): Promise<PGliteDriver> {
    if (dataDir) mkdirSync(dataDir, { recursive: true });
    const db = dataDir ? new PGlite(dataDir) : new PGlite();
    await db.waitReady;
    return new PGliteDriver(db);
  }

  async query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    const r = await this.db.query<T>(sql, params);
    return r.rows;
  }

  async transaction<T>(fn: (tx: SqlTx) => Promise<T>): Promise<T> {
    return this.db.transaction((tx) => fn({ query: async <R>(sql: string, params: unknown[] = []) => (await tx.query<R>(sql, params)).rows }));
  }

  async migrate(ddl: string): Promise<void> {
    // One process owns a PGlite directory, so no cross-process lock is needed.
    await this.db.transaction(async (tx) => {
      await tx.exec(ddl);
    });
  }

  async listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>> {
    const unlisten = await this.db.listen(channel, onNotify);
    return unlisten;
  }

  async close(): Promise<void> {
    if (!this.db.closed) await this.db.close();
  }
}
