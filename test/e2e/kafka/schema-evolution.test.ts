import { expect } from 'chai';
import { ensureInfra } from '@registo/deploy';
import { EnvelopeCodec, topicValueSchema } from '@registo/messaging';
import { SchemaCatalog, checkBackwardCompatibility, readSchemaFiles } from '@registo/schemas';
import { testKafkaSettings } from '../../src/index.js';

const FILE = 'enrollment/PacketValidated.v1.avsc';

/** This build's schema files with PacketValidated's fields changed. */
function withFields(change: (fields: Array<Record<string, unknown>>) => Array<Record<string, unknown>>): Map<string, string> {
  const files = readSchemaFiles();
  const schema = JSON.parse(files.get(FILE)!);
  schema.fields = change(schema.fields);
  files.set(FILE, JSON.stringify(schema));
  return files;
}

describe('schema evolution against the registry (Apicurio, Confluent-compatible API)', function () {
  this.timeout(120_000);
  const settings = testKafkaSettings('se');
  const subject = `${settings.prefix}.enrollment.v1-value`;
  const base = `${settings.registryUrl}/subjects/${encodeURIComponent(subject)}`;

  async function propose(files: Map<string, string>): Promise<{ status: number; body: Record<string, unknown> }> {
    const schema = JSON.stringify(topicValueSchema('enrollment', new SchemaCatalog(files)));
    const r = await fetch(`${base}/versions`, {
      method: 'POST',
      headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
      body: JSON.stringify({ schema }),
    });
    return { status: r.status, body: (await r.json()) as Record<string, unknown> };
  }

  before(async () => {
    await ensureInfra();
    await new EnvelopeCodec(settings.registryUrl, settings.prefix).registerAll(['enrollment']);
  });

  it('the mirror registers <topic>-value with BACKWARD compatibility', async () => {
    const config = (await (await fetch(`${settings.registryUrl}/config/${encodeURIComponent(subject)}`)).json()) as { compatibilityLevel: string };
    expect(config.compatibilityLevel).to.equal('BACKWARD');
    const versions = (await (await fetch(`${base}/versions`)).json()) as number[];
    expect(versions).to.have.length(1);
  });

  it('accepts a new optional field with a default', async () => {
    const files = withFields((f) => [...f, { name: 'validatorVersion', type: ['null', 'string'], default: null }]);
    expect(checkBackwardCompatibility(readSchemaFiles(), files)).to.deep.equal([]);
    const r = await propose(files);
    expect(r.status, JSON.stringify(r.body)).to.equal(200);
    expect(r.body.id).to.be.a('number');
  });

  it('refuses a new required field without a default; `schemas check` says so first', async () => {
    const files = withFields((f) => [...f, { name: 'validatorVersion', type: 'string' }]);
    expect(checkBackwardCompatibility(readSchemaFiles(), files).map((p) => p.subject)).to.deep.equal([`PacketValidated v1 (${FILE})`]);
    const r = await propose(files);
    expect(r.status, JSON.stringify(r.body)).to.equal(409);
  });

  it('removing a required field without a default is refused by `schemas check` before it reaches the registry', () => {
    const problems = checkBackwardCompatibility(readSchemaFiles(), withFields((f) => f.filter((x) => x.name !== 'checks')));
    expect(problems.map((p) => p.problem)).to.deep.equal([
      "required field 'checks' (no default) removed: readers of the published schema would fail on new events",
    ]);
  });
});
