import { expect } from 'chai';
import avro from 'avsc';
import type { EventEnvelope } from '@registo/schemas';
import { EnvelopeCodec, topicValueSchema } from '../../src/index.js';

/** A codec whose registry is in memory: register hands out ids, decode reads with the registered schema. */
function offlineCodec(): EnvelopeCodec {
  const codec = new EnvelopeCodec('http://registry.invalid');
  const schemas = new Map<number, avro.Type>();
  const registry = codec.registry as unknown as {
    register: (schema: { schema: string }) => Promise<{ id: number }>;
    decode: (value: Buffer) => Promise<unknown>;
  };
  registry.register = async ({ schema }) => {
    const id = schemas.size + 1;
    schemas.set(id, avro.Type.forSchema(JSON.parse(schema) as avro.Schema));
    return { id };
  };
  registry.decode = async (value) => schemas.get(value.readUInt32BE(1))!.fromBuffer(value.subarray(5));
  return codec;
}

const metadata = { correlationId: 'c-1', causationId: null, actor: { id: 'custodian-1', role: 'key_custodian' }, occurredAt: '2026-11-22T00:00:00Z', recordedAt: '2026-11-22T00:00:00Z', traceparent: null };

function envelope(streamId: string, type: string, data: Record<string, unknown>): EventEnvelope {
  return { eventId: '0190f0a0-0000-7000-8000-000000000001', streamId, revision: 0, position: 1, type, schemaVersion: 1, data, metadata, hash: 'ab' } as unknown as EventEnvelope;
}

describe('EnvelopeCodec: categories with one event type and with several', () => {
  it('a one-type category (trust) has an unwrapped data union and round-trips its events', async () => {
    const schema = topicValueSchema('trust') as unknown as { fields: Array<{ name: string; type: unknown }> };
    expect(Array.isArray(schema.fields.find((f) => f.name === 'data')!.type)).to.equal(true);
    const codec = offlineCodec();
    await codec.registerAll(['trust', 'identity']);
    const data = {
      mode: 'qualified',
      policyOid: '1.3.6.1.4.1.99999.1.1',
      tokenLabel: 'registo-test',
      performedBy: 'custodian-1',
      keys: [{ label: 'registo-kek', role: 'kek', created: true, publicKeySha256: null, certificate: null }],
    };
    const e = envelope('trust-key-ceremony', 'KeyCeremonyPerformed', data);
    expect(JSON.parse(JSON.stringify(await codec.decode(codec.encode(e))))).to.deep.equal(e);

    const identity = envelope('identity-2345678901', 'SubjectKeyDestroyed', { uin: '2345678901', subjectId: 's', legalBasis: 'order', orderRef: null });
    expect(JSON.parse(JSON.stringify(await codec.decode(codec.encode(identity))))).to.deep.equal(identity);
  });

  it('the credential category (several types, shared enums) round-trips issued and revoked events', async () => {
    const codec = offlineCodec();
    await codec.registerAll(['credential']);
    const sealed = { subjectId: 's', keyVersion: 1, alg: 'A256GCM', iv: 'aXY', ciphertext: 'Y3Q' };
    const issued = envelope('credential-2345678901', 'CredentialIssued', {
      credentialId: 'nid-2345678901-r0', uin: '2345678901', kind: 'VC_JWT', credentialType: 'NationalIdentityCredential', serialHex: null,
      statusListId: '1', statusListIndex: 94203, issuer: 'http://127.0.0.1:8080', issuedAt: '2026-12-01T00:00:00.000Z', expiresAt: '2031-12-01T00:00:00.000Z',
      signerMode: 'non_qualified', credentialSha256: 'ab'.repeat(32), cause: 'e-1', supersedes: [], sealed,
    });
    const revoked = envelope('credential-2345678901', 'CredentialRevoked', {
      credentialId: 'nid-2345678901-r0', uin: '2345678901', kind: 'VC_JWT', serialHex: null, reason: 'keyCompromise', source: 'DUAL_CONTROL',
      requestId: 'req-2345678901-1', requestedBy: 'officer-1', approvedBy: 'approver-1', identityStatus: null, cause: null,
    });
    for (const e of [issued, revoked]) expect(JSON.parse(JSON.stringify(await codec.decode(codec.encode(e))))).to.deep.equal(e);
  });
});
