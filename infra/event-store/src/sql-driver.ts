/**
 * The little a SQL event store needs from a database: the PostgreSQL (`pg`) and PGlite
 * adapters implement it, and everything else in sql-event-store.ts is shared.
 */
/** A transaction in progress: statements run on one connection until it commits. */
export interface SqlTx {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
}

export interface SqlDriver {
  readonly name: 'postgres' | 'pglite';
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Runs `fn` in one transaction: committed if it resolves, rolled back if it throws. */
  transaction<T>(fn: (tx: SqlTx) => Promise<T>): Promise<T>;
  /** Runs DDL once, with concurrent callers (other processes) serialised. */
  migrate(ddl: string): Promise<void>;
  /** Calls `onNotify` for every NOTIFY on `channel` until the returned function is called. */
  listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>>;
  /** Why the database takes no writes now (an embedded store's disk below its reserve), or null. */
  storageProblem?(): Error | null;
  close(): Promise<void>;
}

/** Wakes everyone waiting when something changed, or after a timeout as a safety net. */
export class ChangeSignal {
  private waiters = new Set<() => void>();

  notify(): void {
    const ws = this.waiters;
    this.waiters = new Set();
    for (const w of ws) w();
  }

  /**
   * Starts waiting now (so a change that lands before the caller awaits is not missed) and
   * settles at the first change or after `timeoutMs`. `cancel` settles it at once.
   */
  wait(timeoutMs: number): { settled: Promise<void>; cancel: () => void } {
    let done!: () => void;
    const settled = new Promise<void>((resolve) => {
      done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
    });
    const timer = setTimeout(done, timeoutMs);
    this.waiters.add(done);
    return { settled, cancel: done };
  }
}
