// `npm test`: bring up what the suites need, build, then run every suite with mocha.
//  1. PostgreSQL on 127.0.0.1:5432 (installed from Debian and started if none answers);
//  2. the TypeScript build (tsc -b), the lint (`npm run lint`: ESLint and knip, docs/architecture.md
//     "Lint"), then `registo schemas check` (the working tree's schemas against the committed
//     snapshot of the published ones, schemas/published.json);
//  3. Kafka (KRaft) and the Apicurio schema registry (`registo infra up --reuse`: if a broker
//     and a registry already answer on 9092/8081 they are used; otherwise fetched from Maven
//     Central into ~/.cache/registo once, started under .registo/ and left running for the
//     next run; `npx registo infra down` stops them).
// Extra arguments go to mocha, e.g. `npm test -- --grep contract`.
import { spawnSync } from 'node:child_process';
import { ensurePostgres } from './ensure-postgres.mjs';

function run(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

await ensurePostgres();
run('npx', ['tsc', '-b']);
run('npm', ['run', '--silent', 'lint']);
// Schema changes must stay BACKWARD compatible with what was published: the snapshot is
// committed, so this fails on main as well as on a branch, and needs no git history.
run(process.execPath, ['cli/bin/registo.js', 'schemas', 'check']);
run(process.execPath, ['cli/bin/registo.js', 'infra', 'up', '--reuse']);
run('npx', ['mocha', ...process.argv.slice(2)]);
