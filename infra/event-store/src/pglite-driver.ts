import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import type { SqlDriver, SqlTx } from './sql-driver.js';
import { RegistoError } from '@registo/schemas';
import { type DataDirLock, lockDataDir } from './data-dir-lock.js';
import { dataDirError, dataDirProblem } from './data-dir-problem.js';
import { DEFAULT_DISK_RESERVE_BYTES, DiskReserve } from './disk-reserve.js';
import { EngineWatchdog, exitEngineLost } from './engine-watchdog.js';
import { isStoreUnavailable, storeUnavailable } from './unavailable.js';

export interface PGliteDriverOptions {
  /** Free space kept on the data dir's filesystem: below it writes are refused (default 64 MiB). */
  diskReserveBytes?: number;
  /** A database call that holds the event loop this long ends the process (exit 75); 0: no watchdog. */
  stallMs?: number;
}

/** Default for `stallMs`: far above any single statement of the platform's. */
export const DEFAULT_STALL_MS = 30_000;

/** SQLSTATE read_only_sql_transaction: what a write meets while the reserve holds the session read-only. */
const READ_ONLY_TRANSACTION = '25006';

/**
 * A failure PGlite does not come back from: once it could not write its WAL the next call
 * spins forever on the event-loop thread, so nothing more may be asked of it.
 */
function engineLost(e: unknown): boolean {
  const { message, severity } = (typeof e === 'object' && e !== null ? e : {}) as { message?: unknown; severity?: unknown };
  return severity === 'PANIC' || (typeof message === 'string' && /pg_wal\/|xlog/i.test(message));
}

/** Embedded PostgreSQL (WASM) in this process: `npm start` on a bare machine. */
export class PGliteDriver implements SqlDriver {
  readonly name = 'pglite' as const;
  readonly db: PGlite;

  /** The session is read-only (default_transaction_read_only) because the disk is low. */
  private readOnly = false;

  private constructor(
    db: PGlite,
    private readonly lock: DataDirLock | undefined,
    private readonly reserve: DiskReserve | undefined,
    private readonly watchdog: EngineWatchdog | undefined,
  ) {
    this.db = db;
  }

  /**
   * `dataDir` undefined: in memory (tests). A directory is locked for this process first
   * (PGlite itself does not stop a second process): a second opener gets DATA_DIR_LOCKED.
   */
  static async open(dataDir?: string, options: PGliteDriverOptions = {}): Promise<PGliteDriver> {
    if (!dataDir) {
      const db = new PGlite();
      await db.waitReady;
      return new PGliteDriver(db, undefined, undefined, undefined);
    }
    try {
      mkdirSync(dataDir, { recursive: true });
    } catch (e) {
      throw dataDirError(dataDir, e);
    }
    const lock = await lockDataDir(dataDir);
    const reserveBytes = options.diskReserveBytes ?? DEFAULT_DISK_RESERVE_BYTES;
    try {
      const problem = dataDirProblem(dataDir, reserveBytes);
      if (problem) throw dataDirError(dataDir, problem, reserveBytes);
      const db = new PGlite(dataDir);
      await db.waitReady;
      const stallMs = options.stallMs ?? DEFAULT_STALL_MS;
      const watchdog = stallMs > 0 ? await EngineWatchdog.start({ stallMs, what: `data dir ${dataDir}` }) : undefined;
      return new PGliteDriver(db, lock, new DiskReserve(dataDir, reserveBytes), watchdog);
    } catch (e) {
      await lock.release();
      throw e instanceof RegistoError ? e : dataDirError(dataDir, e, reserveBytes);
    }
  }

  /**
   * While the disk is below its reserve the session is read-only: reads go on, and PostgreSQL
   * itself refuses every write (INSERT, registo_append, FOR UPDATE, nextval) before it writes
   * WAL. Checked before every call, so it clears by itself once space returns.
   */
  private async keepReserve(): Promise<void> {
    if (!this.reserve) return;
    const low = this.reserve.space().low;
    if (low === this.readOnly) return;
    await this.db.exec(`SET default_transaction_read_only = ${low ? 'on' : 'off'}`);
    this.readOnly = low;
  }

  /** The platform's error for what PGlite threw: the reserve's refusal, an outage, or the engine lost. */
  private failure(e: unknown): unknown {
    if (this.lock && engineLost(e)) exitEngineLost(`the embedded database lost its write-ahead log (${storeUnavailable(e).details.cause as string})`);
    if (this.readOnly && (e as { code?: unknown }).code === READ_ONLY_TRANSACTION) return this.reserve!.refusal();
    return isStoreUnavailable(e) ? storeUnavailable(e) : e;
  }

  /** One call to the engine: the reserve kept, the watchdog watching, its errors in the platform's terms. */
  private async call<T>(run: () => Promise<T>): Promise<T> {
    const guarded = async (): Promise<T> => {
      await this.keepReserve();
      return run();
    };
    try {
      return await (this.watchdog ? this.watchdog.watch(guarded) : guarded());
    } catch (e) {
      throw this.failure(e);
    }
  }

  /** Refuses at once while the disk is below the reserve (for readiness: the store takes no writes). */
  storageProblem(): Error | null {
    const space = this.reserve?.space();
    return space?.low ? this.reserve!.refusal(space) : null;
  }

  async query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    return this.call(async () => (await this.db.query<T>(sql, params)).rows);
  }

  async transaction<T>(fn: (tx: SqlTx) => Promise<T>): Promise<T> {
    return this.call(() =>
      this.db.transaction((tx) =>
        fn({
          // Mapped inside too: code in `fn` that tells an outage from a bad statement sees the platform's error.
          query: async <R>(sql: string, params: unknown[] = []) => {
            try {
              return (await tx.query<R>(sql, params)).rows;
            } catch (e) {
              throw this.failure(e);
            }
          },
        }),
      ),
    );
  }

  async migrate(ddl: string): Promise<void> {
    // One process owns a PGlite directory (the data-dir lock), so no cross-process lock is needed.
    await this.call(() =>
      this.db.transaction(async (tx) => {
        await tx.exec(ddl);
      }),
    );
  }

  async listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>> {
    const unlisten = await this.db.listen(channel, onNotify);
    return unlisten;
  }

  async close(): Promise<void> {
    try {
      if (!this.db.closed) await this.db.close();
    } finally {
      await this.watchdog?.stop();
      await this.lock?.release();
    }
  }
}
