import pg from 'pg';
import type { SqlDriver, SqlTx } from './sql-driver.js';
import { isStoreUnavailable, rethrowOutage, storeUnavailable } from './unavailable.js';

// int8 (bigint) as JS number: positions and revisions stay far below 2^53.
pg.types.setTypeParser(20, (v) => Number(v));

export interface PostgresDriverOptions {
  connectionString: string;
  /** Pool size; appends use at most `maxInFlightAppends` of it. */
  maxConnections?: number;
  applicationName?: string;
}

/** Serialises schema creation across processes that start at the same time. */
const MIGRATION_LOCK = 7_206_451_001;

export class PostgresDriver implements SqlDriver {
  readonly name = 'postgres' as const;
  readonly pool: pg.Pool;
  private readonly options: PostgresDriverOptions;

  constructor(options: PostgresDriverOptions) {
    this.options = options;
    this.pool = new pg.Pool({
      connectionString: options.connectionString,
      max: options.maxConnections ?? 10,
      application_name: options.applicationName ?? 'registo',
    });
    // An idle client that loses its connection must not crash the process; the pool replaces it.
    this.pool.on('error', () => undefined);
    // Nor a busy one: when the server ends a session (57P01) `pg` may emit 'error' more than
    // once (the server's message, then the closed socket), and pg-pool listens only once
    // during pool.query. The failure still reaches the caller through the query itself.
    this.pool.on('connect', (client) => client.on('error', () => undefined));
  }

  async query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    const r = await this.pool.query(sql, params).catch(rethrowOutage);
    return r.rows as T[];
  }

  async transaction<T>(fn: (tx: SqlTx) => Promise<T>): Promise<T> {
    return this.withClient(async (client) => {
      await client.query('BEGIN');
      try {
        const result = await fn({ query: async <R>(sql: string, params: unknown[] = []) => (await client.query(sql, params)).rows as R[] });
        await client.query('COMMIT');
        return result;
      } catch (e) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw e;
      }
    });
  }

  async migrate(ddl: string): Promise<void> {
    await this.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await tx.query(ddl);
    });
  }

  /**
   * A checked-out client has no listener of the pool's: when the server ends its session
   * (57P01 on a restart or failover) `pg` emits 'error' on it, which would otherwise kill the
   * process. Listen while it is held, and hand a broken one back as broken so the pool drops it.
   */
  private async withClient<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect().catch(rethrowOutage);
    let broken: Error | undefined;
    const onError = (e: Error): void => {
      broken = e;
    };
    client.on('error', onError);
    try {
      return await fn(client);
    } catch (e) {
      if (!broken && isStoreUnavailable(e)) broken = e instanceof Error ? e : new Error(String(e));
      throw broken ? storeUnavailable(broken) : e;
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }

  /**
   * LISTEN needs a connection of its own for as long as it listens. If it drops, reconnect
   * and tell the listener (a spurious wake-up is harmless; a missed one is covered by polling).
   */
  async listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>> {
    let stopped = false;
    let client: pg.Client | undefined;
    const connect = async (): Promise<void> => {
      const c = new pg.Client({ connectionString: this.options.connectionString, application_name: 'registo-listen' });
      c.on('notification', (n) => onNotify(n.payload ?? ''));
      c.on('error', () => undefined);
      c.on('end', () => {
        if (!stopped) setTimeout(() => void connect().catch(() => undefined), 500);
      });
      await c.connect();
      await c.query(`LISTEN ${channel}`);
      client = c;
      onNotify('');
    };
    await connect();
    return async () => {
      stopped = true;
      await client?.end().catch(() => undefined);
    };
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
