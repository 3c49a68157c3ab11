import type { Command } from 'commander';
import { benchAppend } from '../bench/append.js';
import { printReport } from '../bench/report.js';

const DEFAULT_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

function int(v: string): number {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`expected a positive whole number, got '${v}'`);
  return n;
}

export function registerBench(program: Command): void {
  const bench = program
    .command('bench')
    .description('measure a capability against a baseline taken in the same run; with --json the last stdout line is the report');

  bench
    .command('append')
    .description('event store appends on PostgreSQL: 100-event batches and concurrent single events, beside plain INSERTs of the same payloads')
    .option('--json', 'print the report as one JSON line')
    .option('--database-url <url>', 'PostgreSQL server to create a throw-away database on (env DATABASE_URL)', process.env.DATABASE_URL ?? DEFAULT_ADMIN_URL)
    .option('--batched-events <n>', 'events written in 100-event appends', int, 100_000)
    .option('--batched-writers <n>', 'concurrent writers of 100-event appends', int, 4)
    .option('--single-events <n>', 'events written one per append', int, 20_000)
    .option('--single-writers <n>', 'concurrent writers of single events', int, 32)
    .action(async (o: { json?: boolean; databaseUrl: string; batchedEvents: number; batchedWriters: number; singleEvents: number; singleWriters: number }) => {
      const report = await benchAppend({
        adminUrl: o.databaseUrl,
        batchedEvents: o.batchedEvents,
        batchedWriters: o.batchedWriters,
        singleEvents: o.singleEvents,
        singleWriters: o.singleWriters,
      });
      printReport(report, o.json === true);
    });
}
