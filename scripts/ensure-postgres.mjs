// Makes sure a PostgreSQL server answers on the test address, installing and starting one
// from Debian's packages if none does. Idempotent; prints what it did.
import { execSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import pg from 'pg';

const ADMIN_URL = process.env.REGISTO_TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

async function answers() {
  const c = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    await c.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => undefined);
  }
}

function sh(cmd) {
  process.stderr.write(`postgres: ${cmd}\n`);
  execSync(cmd, { stdio: 'inherit' });
}

function trustLoopback(version) {
  const hba = `/etc/postgresql/${version}/main/pg_hba.conf`;
  const text = readFileSync(hba, 'utf8');
  if (!text.includes('# registo-test')) {
    writeFileSync(hba, `# registo-test: trust loopback for the test suite\nhost all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n${text}`);
  }
}

export async function ensurePostgres() {
  if (await answers()) return;
  const host = new URL(ADMIN_URL).hostname;
  if (host !== '127.0.0.1' && host !== 'localhost') throw new Error(`PostgreSQL at ${ADMIN_URL} does not answer`);
  if (!existsSync('/usr/bin/pg_ctlcluster')) {
    sh('apt-get update -qq');
    sh('DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql');
  }
  const versions = existsSync('/etc/postgresql') ? readdirSync('/etc/postgresql') : [];
  if (versions.length === 0) throw new Error('postgresql installed but no cluster found under /etc/postgresql');
  const version = versions.sort().at(-1);
  trustLoopback(version);
  spawnSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'start'], { stdio: 'inherit' });
  spawnSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'reload'], { stdio: 'inherit' });
  for (let i = 0; i < 30; i++) {
    if (await answers()) return;
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`PostgreSQL ${version} did not start; see /var/log/postgresql/`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  await ensurePostgres();
  process.stderr.write('postgres: ready\n');
}
