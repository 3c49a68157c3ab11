import { expect } from 'chai';
import { execFileSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AVRO_DIR, PUBLISHED_SNAPSHOT } from '@registo/schemas';
import { runCli } from './run-cli.js';

const FILE = 'identity/IdentityUpdated.v1.avsc';
const REQUIRED = { name: 'channel', type: 'string' };
const OPTIONAL = { name: 'channel', type: ['null', 'string'], default: null };

function git(repo: string, ...args: string[]): string {
  return execFileSync('git', ['-C', repo, '-c', 'user.email=ci@registo.st', '-c', 'user.name=ci', ...args], { encoding: 'utf8' });
}

/** A throw-away repository whose main branch holds this build's schemas and their published snapshot. */
function repoWithSchemas(): string {
  const repo = mkdtempSync(join(tmpdir(), 'registo-schemas-'));
  cpSync(AVRO_DIR, join(repo, 'schemas/avro'), { recursive: true });
  copyFileSync(PUBLISHED_SNAPSHOT, join(repo, 'schemas/published.json'));
  git(repo, 'init', '-q', '-b', 'main');
  git(repo, 'add', '.');
  git(repo, 'commit', '-qm', 'published schemas');
  return repo;
}

function addField(repo: string, field: Record<string, unknown>): void {
  const path = join(repo, 'schemas/avro', FILE);
  const schema = JSON.parse(readFileSync(path, 'utf8'));
  schema.fields = [...schema.fields, field];
  writeFileSync(path, JSON.stringify(schema, null, 2));
}

const snapshotOf = (repo: string): string => readFileSync(join(repo, 'schemas/published.json'), 'utf8');

describe('registo schemas check', function () {
  this.timeout(60_000);

  it('passes a compatible change against the published snapshot: a new optional field with a default', async () => {
    const repo = repoWithSchemas();
    addField(repo, OPTIONAL);
    const r = await runCli(['schemas', 'check', '--repo', repo]);
    expect(r.stderr).to.equal('');
    expect(r.code).to.equal(0);
    expect(r.stdout).to.match(/BACKWARD compatible with the published snapshot schemas\/published\.json/);
    expect(r.stdout).to.include(`not yet published: ${FILE} (changed)`);
  });

  it('fails a breaking change against the snapshot (a required field without a default) and names the schema and the reason', async () => {
    const repo = repoWithSchemas();
    addField(repo, REQUIRED);
    const r = await runCli(['schemas', 'check', '--repo', repo]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/against the published snapshot/);
    expect(r.stderr).to.match(/IdentityUpdated v1/);
    expect(r.stderr).to.match(/channel/);
  });

  it('fails on main itself once the break is committed there, where comparing main with main cannot', async () => {
    const repo = repoWithSchemas();
    addField(repo, REQUIRED);
    git(repo, 'commit', '-qam', 'a required field');
    const snapshot = await runCli(['schemas', 'check', '--repo', repo]);
    expect(snapshot.code, snapshot.stdout + snapshot.stderr).to.equal(1);
    expect(snapshot.stderr).to.match(/IdentityUpdated v1/);
    const self = await runCli(['schemas', 'check', '--repo', repo, '--against', 'main']);
    expect(self.code, self.stderr).to.equal(0);
    expect(self.stdout).to.match(/BACKWARD compatible with main/);
  });

  it('--against <ref> compares with the schemas at that ref instead', async () => {
    const repo = repoWithSchemas();
    git(repo, 'tag', 'release-1');
    addField(repo, REQUIRED);
    git(repo, 'commit', '-qam', 'a required field');
    const r = await runCli(['schemas', 'check', '--repo', repo, '--against', 'release-1']);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/against release-1/);
    expect(r.stderr).to.match(/IdentityUpdated v1/);
  });

  it('says so when the baseline ref does not exist', async () => {
    const repo = repoWithSchemas();
    const r = await runCli(['schemas', 'check', '--repo', repo, '--against', 'release-9']);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/release-9.*is not a commit/);
  });

  it('without a snapshot, says how to record one', async () => {
    const repo = repoWithSchemas();
    rmSync(join(repo, 'schemas/published.json'));
    const r = await runCli(['schemas', 'check', '--repo', repo]);
    expect(r.code).to.equal(1);
    expect(r.stderr).to.match(/no published schema snapshot.*registo schemas publish/);
  });

  it('publish refuses a breaking change unless told, and records a compatible one, after which nothing is unpublished', async () => {
    const repo = repoWithSchemas();
    const before = snapshotOf(repo);
    addField(repo, REQUIRED);
    const refused = await runCli(['schemas', 'publish', '--repo', repo]);
    expect(refused.code).to.equal(1);
    expect(refused.stderr).to.match(/IdentityUpdated v1.*channel/);
    expect(refused.stderr).to.match(/nothing published; pass --allow-breaking/);
    expect(snapshotOf(repo)).to.equal(before);

    git(repo, 'checkout', '-q', '--', 'schemas/avro');
    addField(repo, OPTIONAL);
    const published = await runCli(['schemas', 'publish', '--repo', repo]);
    expect(published.code, published.stderr).to.equal(0);
    expect(published.stdout).to.match(/published \d+ files to schemas\/published\.json \(0 new, 1 changed, 0 removed\)/);
    expect(JSON.parse(snapshotOf(repo)).files[FILE].fields.at(-1)).to.deep.equal(OPTIONAL);
    const check = await runCli(['schemas', 'check', '--repo', repo]);
    expect(check.code, check.stderr).to.equal(0);
    expect(check.stdout).not.to.include('not yet published');
  });

  it('--help says the check compares with the published snapshot, --against with a git ref, and what publish does', async () => {
    // Commander wraps to the terminal's width: compare with the whitespace folded.
    const help = async (command: string) => {
      const r = await runCli(['schemas', command, '--help']);
      expect(r.code).to.equal(0);
      return r.stdout.replace(/\s+/g, ' ');
    };
    const check = await help('check');
    expect(check).to.include('compatibility with the published schemas (schemas/published.json)');
    expect(check).to.include('--snapshot <file> published schema snapshot');
    expect(check).to.include('--against <ref> compare with the schemas at this git ref instead of the snapshot');
    expect(check).to.include('written by `registo schemas publish`');
    const publish = await help('publish');
    expect(publish).to.include("record the working tree's schemas as the published ones (rewrites schemas/published.json)");
    expect(publish).to.include('--allow-breaking publish even when the change breaks BACKWARD compatibility');
  });
});
