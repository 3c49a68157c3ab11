// `npm test`: bring up what the suites need (PostgreSQL now; more as capabilities arrive),
// build, then run every suite with mocha. Extra arguments go to mocha.
import { spawnSync } from 'node:child_process';
import { ensurePostgres } from './ensure-postgres.mjs';

function run(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

await ensurePostgres();
run('npx', ['tsc', '-b']);
run('npx', ['mocha', ...process.argv.slice(2)]);
