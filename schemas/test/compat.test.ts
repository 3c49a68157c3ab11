import { expect } from 'chai';
import { checkBackwardCompatibility, readSchemaFiles } from '../src/index.js';

const base = readSchemaFiles();
const FILE = 'enrollment/PacketValidated.v1.avsc';

function edit(fields: (f: Array<Record<string, unknown>>) => Array<Record<string, unknown>>, file = FILE): Map<string, string> {
  const next = new Map(base);
  const schema = JSON.parse(base.get(FILE)!);
  schema.fields = fields(schema.fields);
  next.set(file, JSON.stringify(schema));
  return next;
}

describe('BACKWARD compatibility check', () => {
  it('accepts the schemas against themselves', () => {
    expect(checkBackwardCompatibility(base, base)).to.deep.equal([]);
  });

  it('accepts a new optional field with a default', () => {
    const next = edit((f) => [...f, { name: 'validatorVersion', type: ['null', 'string'], default: null }]);
    expect(checkBackwardCompatibility(base, next)).to.deep.equal([]);
  });

  it('refuses a new required field without a default', () => {
    const problems = checkBackwardCompatibility(base, edit((f) => [...f, { name: 'validatorVersion', type: 'string' }]));
    expect(problems).to.have.length(1);
    expect(problems[0]!.subject).to.match(/PacketValidated v1/);
  });

  it('refuses a field whose type changes incompatibly', () => {
    const problems = checkBackwardCompatibility(base, edit((f) => f.map((x) => (x.name === 'regId' ? { ...x, type: 'int' } : x))));
    expect(problems.map((p) => p.subject)).to.deep.equal(['PacketValidated v1 (enrollment/PacketValidated.v1.avsc)']);
  });

  it('refuses removing a required field (no default): partners still read with the published schema', () => {
    const problems = checkBackwardCompatibility(base, edit((f) => f.filter((x) => x.name !== 'checks')));
    expect(problems).to.have.length(1);
    expect(problems[0]!.problem).to.match(/required field 'checks'/);
  });

  it('accepts removing a field that has a default', () => {
    const withDefault = edit((f) => [...f, { name: 'note', type: ['null', 'string'], default: null }]);
    const removed = new Map(withDefault);
    const schema = JSON.parse(withDefault.get(FILE)!);
    schema.fields = schema.fields.filter((x: { name: string }) => x.name !== 'note');
    removed.set(FILE, JSON.stringify(schema));
    expect(checkBackwardCompatibility(withDefault, removed)).to.deep.equal([]);
  });

  it('refuses removing a published version', () => {
    const next = new Map(base);
    next.delete(FILE);
    expect(checkBackwardCompatibility(base, next)[0]!.problem).to.match(/removed/);
  });

  it('checks a new version against the one before it', () => {
    const next = new Map(base);
    const v2 = JSON.parse(base.get(FILE)!);
    v2.fields.push({ name: 'mandatory', type: 'long' });
    next.set('enrollment/PacketValidated.v2.avsc', JSON.stringify(v2));
    const problems = checkBackwardCompatibility(base, next);
    expect(problems.map((p) => p.subject)).to.deep.equal(['PacketValidated v2']);
  });
});
