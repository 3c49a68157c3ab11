import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AVRO_DIR } from '@registo/schemas';
import { runCli } from './run-cli.js';

/** A throw-away repository whose main branch holds this build's schemas. */
function repoWithSchemas(): string {
  const repo = mkdtempSync(join(tmpdir(), 'registo-schemas-'));
  cpSync(AVRO_DIR, join(repo, 'schemas/avro'), { recursive: true });
  const git = (...args: string[]): string => execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8' });
  git('init', '-q', '-b', 'main');
  git('-c', 'user.email=ci@registo.st', '-c', 'user.name=ci', 'add', '.');
  git('-c', 'user.email=ci@registo.st', '-c', 'user.name=ci', 'commit', '-qm', 'published schemas');
  return repo;
}

function editFields(repo: string, file: string, change: (fields: unknown[]) => unknown[]): void {
  const path = join(repo, 'schemas/avro', file);
  const schema = JSON.parse(readFileSync(path, 'utf8'));
  schema.fields = change(schema.fields);
  writeFileSync(path, JSON.stringify(schema, null, 2));
}

describe('registo schemas check', function () {
  this.timeout(60_000);

  it('passes a compatible change: a new optional field with a default', async () => {
    const repo = repoWithSchemas();
    editFields(repo, 'identity/IdentityUpdated.v1.avsc', (f) => [...f, { name: 'channel', type: ['null', 'string'], default: null }]);
    const r = await runCli(['schemas', 'check', '--repo', repo]);
    expect(r.stderr).to.equal('');
    expect(r.code).to.equal(0);
    expect(r.stdout).to.match(/BACKWARD compatible with main/);
  });

  it('fails a breaking change and names the schema and the reason', async () => {
    const repo = repoWithSchemas();
    editFields(repo, 'identity/IdentityUpdated.v1.avsc', (f) => [...f, { name: 'channel', type: 'string' }]);
    const r = await runCli(['schemas', 'check', '--repo', repo]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/IdentityUpdated v1/);
    expect(r.stderr).to.match(/channel/);
  });

  it('says so when the baseline ref does not exist', async () => {
    const repo = repoWithSchemas();
    const r = await runCli(['schemas', 'check', '--repo', repo, '--against', 'release-9']);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/release-9.*is not a commit/);
  });
});
