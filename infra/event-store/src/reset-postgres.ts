import pg from 'pg';
import { RegistoError } from '@registo/schemas';

/** What `resetPostgresDatabase` found and dropped. */
export interface PostgresReset {
  database: string;
  /** Tables, views and sequences of the public schema, dropped with it. */
  dropped: string[];
}

/**
 * Starts a PostgreSQL store over: the public schema — event log, read models, claims, subject
 * keys, audit tree, everything the platform created there — is dropped and made again as
 * PostgreSQL makes it. The database itself stays (its owner, grants and connection URL too).
 * Refused while another session uses the database: a running platform would keep writing.
 */
export async function resetPostgresDatabase(url: string, options: { dryRun?: boolean } = {}): Promise<PostgresReset> {
  const client = new pg.Client({ connectionString: url, application_name: 'registo-reset' });
  await client.connect();
  try {
    const database = (await client.query<{ db: string }>('SELECT current_database() AS db')).rows[0]!.db;
    const others = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()');
    const sessions = others.rows[0]!.n;
    if (sessions > 0 && !options.dryRun) {
      throw new RegistoError('DATABASE_IN_USE', `the database ${database} has ${sessions} other session(s) (a running platform?): stop it first; a reset needs the database to itself`, { database, sessions });
    }
    const objects = await client.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'S') ORDER BY c.relkind, c.relname`,
    );
    const dropped = objects.rows.map((r) => r.name);
    if (!options.dryRun) {
      await client.query('BEGIN');
      await client.query('DROP SCHEMA IF EXISTS public CASCADE');
      // As initdb makes it (PostgreSQL 15+): owned by the database owner, usable by everyone.
      await client.query('CREATE SCHEMA public AUTHORIZATION pg_database_owner');
      await client.query('GRANT USAGE ON SCHEMA public TO PUBLIC');
      await client.query('COMMIT');
    }
    return { database, dropped };
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    await client.end();
  }
}
