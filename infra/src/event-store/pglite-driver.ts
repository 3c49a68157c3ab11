import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import type { SqlDriver, SqlTx } from './sql-driver.js';
import { RegistoError } from '@registo/schemas';
import { type DataDirLock, lockDataDir } from './data-dir-lock.js';
import { dataDirError, dataDirProblem } from './data-dir-problem.js';

/** Embedded PostgreSQL (WASM) in this process: `npm start` on a bare machine. */
export class PGliteDriver implements SqlDriver {
  readonly name = 'pglite' as const;
  readonly db: PGlite;

  private constructor(
    db: PGlite,
    private readonly lock: DataDirLock | undefined,
  ) {
    this.db = db;
  }

  /**
   * `dataDir` undefined: in memory (tests). A directory is locked for this process first
   * (PGlite itself does not stop a second process): a second opener gets DATA_DIR_LOCKED.
   */
  static async open(dataDir?: string): Promise<PGliteDriver> {
    if (!dataDir) {
      const db = new PGlite();
      await db.waitReady;
      return new PGliteDriver(db, undefined);
    }
    try {
      mkdirSync(dataDir, { recursive: true });
    } catch (e) {
      throw dataDirError(dataDir, e);
    }
    const lock = await lockDataDir(dataDir);
    try {
      const problem = dataDirProblem(dataDir);
      if (problem) throw dataDirError(dataDir, problem);
      const db = new PGlite(dataDir);
      await db.waitReady;
      return new PGliteDriver(db, lock);
    } catch (e) {
      await lock.release();
      throw e instanceof RegistoError ? e : dataDirError(dataDir, e);
    }
  }

  async query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    const r = await this.db.query<T>(sql, params);
    return r.rows;
  }

  async transaction<T>(fn: (tx: SqlTx) => Promise<T>): Promise<T> {
    return this.db.transaction((tx) => fn({ query: async <R>(sql: string, params: unknown[] = []) => (await tx.query<R>(sql, params)).rows }));
  }

  async migrate(ddl: string): Promise<void> {
    // One process owns a PGlite directory (the data-dir lock), so no cross-process lock is needed.
    await this.db.transaction(async (tx) => {
      await tx.exec(ddl);
    });
  }

  async listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>> {
    const unlisten = await this.db.listen(channel, onNotify);
    return unlisten;
  }

  async close(): Promise<void> {
    try {
      if (!this.db.closed) await this.db.close();
    } finally {
      await this.lock?.release();
    }
  }
}
