import { expect } from 'chai';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkBackwardCompatibility, publishedSnapshotText, readPublishedSnapshot, readSchemaFiles, schemaFileChanges } from '../src/index.js';

const live = readSchemaFiles();
const FILE = 'identity/IdentityUpdated.v1.avsc';

function withField(files: ReadonlyMap<string, string>, field: Record<string, unknown>): Map<string, string> {
  const next = new Map(files);
  const schema = JSON.parse(files.get(FILE)!);
  schema.fields = [...schema.fields, field];
  next.set(FILE, JSON.stringify(schema, null, 2));
  return next;
}

function snapshotFile(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), 'registo-published-')), 'published.json');
  writeFileSync(path, text);
  return path;
}

describe('published schema snapshot', () => {
  it('the committed snapshot holds every published type, and the working tree is BACKWARD compatible with it', () => {
    const published = readPublishedSnapshot();
    expect(published.size).to.be.at.least(40);
    expect([...published.keys()]).to.include.members(['envelope.avsc', FILE]);
    expect(checkBackwardCompatibility(published, live)).to.deep.equal([]);
  });

  it('reads back what it writes: the same schemas, whatever their layout', () => {
    const read = readPublishedSnapshot(snapshotFile(publishedSnapshotText(live)));
    expect([...read.keys()]).to.deep.equal([...live.keys()].sort());
    for (const [path, text] of live) expect(JSON.parse(read.get(path)!), path).to.deep.equal(JSON.parse(text));
    expect(schemaFileChanges(read, live)).to.deep.equal({ added: [], changed: [], removed: [] });
  });

  it('refuses a required field added without a default against the snapshot, and accepts one with a default', () => {
    const published = readPublishedSnapshot(snapshotFile(publishedSnapshotText(live)));
    const breaking = checkBackwardCompatibility(published, withField(live, { name: 'channel', type: 'string' }));
    expect(breaking.map((p) => p.subject)).to.deep.equal([`IdentityUpdated v1 (${FILE})`]);
    expect(breaking[0]!.problem).to.match(/channel/);
    expect(checkBackwardCompatibility(published, withField(live, { name: 'channel', type: ['null', 'string'], default: null }))).to.deep.equal([]);
  });

  it('names the files added, changed and removed since the snapshot', () => {
    const next = withField(live, { name: 'channel', type: ['null', 'string'], default: null });
    next.delete('trust/KeyCeremonyPerformed.v1.avsc');
    next.set('identity/IdentityUpdated.v2.avsc', next.get(FILE)!);
    expect(schemaFileChanges(live, next)).to.deep.equal({
      added: ['identity/IdentityUpdated.v2.avsc'],
      changed: [FILE],
      removed: ['trust/KeyCeremonyPerformed.v1.avsc'],
    });
  });

  it('says how to make one when there is none, and refuses a file that is not a snapshot', () => {
    expect(() => readPublishedSnapshot(join(tmpdir(), 'no-such-dir-registo', 'published.json'))).to.throw(/registo schemas publish/);
    expect(() => readPublishedSnapshot(snapshotFile('{"schemas": []}'))).to.throw(/not a published schema snapshot/);
  });
});
