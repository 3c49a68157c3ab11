import { expect } from 'chai';
import avro from 'avsc';
import {
  ADJUDICATION_DECISIONS,
  BIOMETRIC_VERDICTS,
  CATEGORIES,
  CREDENTIAL_KINDS,
  CREDENTIAL_REVOCATION_REASONS,
  CREDENTIAL_STATUS_ACTIONS,
  REVOCATION_SOURCES,
  CHECK_OUTCOMES,
  DEDUP_METHODS,
  EXTERNAL_SYSTEMS,
  IDENTITY_STATUSES,
  PACKET_TYPES,
  RESIDENCIES,
  SchemaCatalog,
  TRUST_SIGNER_MODES,
  SYNC_DIRECTIONS,
  MISMATCH_KINDS,
  MISMATCH_RESOLUTIONS,
  schemaCatalog,
  validateEventData,
} from '../src/index.js';
import { samples } from './samples.js';

function enumSymbols(catalog: SchemaCatalog, type: string, path: string[]): string[] {
  let t: avro.Type = catalog.get(type).avro;
  for (const name of path) t = (t as avro.types.RecordType).field(name)!.type;
  return (t as avro.types.EnumType).symbols;
}

describe('schema catalog', () => {
  const catalog = schemaCatalog();

  it('knows the first event types of the enrollment and identity categories', () => {
    expect(catalog.typesOf('enrollment').map((s) => s.type)).to.include.members([
      'EnrollmentSubmitted', 'PacketValidated', 'PacketRejected', 'ExternalCheckRequested', 'ExternalCheckCompleted',
      'DuplicateSuspected', 'AdjudicationRequested', 'AdjudicationDecided', 'EnrollmentApproved', 'EnrollmentRejected',
    ]);
    expect(catalog.typesOf('identity').map((s) => s.type)).to.have.members([
      'IdentityCreated', 'IdentityUpdated', 'IdentityStatusChanged', 'SubjectKeyDestroyed',
    ]);
    expect(catalog.typesOf('trust').map((s) => s.type)).to.have.members(['KeyCeremonyPerformed']);
    expect(catalog.typesOf('credential').map((s) => s.type)).to.have.members([
      'CredentialIssued', 'CredentialStatusChangeRequested', 'CredentialStatusChangeApproved', 'CredentialStatusChangeRejected',
      'CredentialSuspended', 'CredentialReinstated', 'CredentialRevoked',
    ]);
    expect(catalog.typesOf('sync').map((s) => s.type)).to.have.members([
      'SyncRequested', 'SyncSucceeded', 'SyncFailed', 'SyncDeadLettered', 'SyncRedriven', 'ReconciliationMismatchFound', 'ReconciliationResolutionChosen', 'ReconciliationMismatchResolved',
    ]);
  });

  it('every hand-kept TS sample passes its Avro schema, with no undeclared field', () => {
    expect(Object.keys(samples).sort()).to.deep.equal(catalog.types());
    for (const [type, data] of Object.entries(samples)) {
      expect(() => validateEventData(type, undefined, data), type).not.to.throw();
      expect(catalog.get(type).avro.isValid(data, { noUndeclaredFields: true }), type).to.equal(true);
    }
  });

  it('TS enum lists match the Avro enum symbols', () => {
    expect(enumSymbols(catalog, 'EnrollmentSubmitted', ['packetType'])).to.deep.equal(PACKET_TYPES);
    expect(enumSymbols(catalog, 'EnrollmentSubmitted', ['residency'])).to.deep.equal(RESIDENCIES);
    expect(enumSymbols(catalog, 'ExternalCheckRequested', ['system'])).to.deep.equal(EXTERNAL_SYSTEMS);
    expect(enumSymbols(catalog, 'ExternalCheckCompleted', ['outcome'])).to.deep.equal(CHECK_OUTCOMES);
    expect(enumSymbols(catalog, 'DuplicateSuspected', ['method'])).to.deep.equal(DEDUP_METHODS);
    expect(enumSymbols(catalog, 'IdentityClaimChecked', ['biometric'])).to.deep.equal(BIOMETRIC_VERDICTS);
    expect(enumSymbols(catalog, 'AdjudicationDecided', ['decision'])).to.deep.equal(ADJUDICATION_DECISIONS);
    expect(enumSymbols(catalog, 'IdentityStatusChanged', ['to'])).to.deep.equal(IDENTITY_STATUSES);
    expect(enumSymbols(catalog, 'KeyCeremonyPerformed', ['mode'])).to.deep.equal(TRUST_SIGNER_MODES);
    expect(enumSymbols(catalog, 'CredentialIssued', ['kind'])).to.deep.equal(CREDENTIAL_KINDS);
    expect(enumSymbols(catalog, 'CredentialRevoked', ['reason'])).to.deep.equal(CREDENTIAL_REVOCATION_REASONS);
    expect(enumSymbols(catalog, 'CredentialRevoked', ['source'])).to.deep.equal(REVOCATION_SOURCES);
    expect(enumSymbols(catalog, 'CredentialStatusChangeRequested', ['action'])).to.deep.equal(CREDENTIAL_STATUS_ACTIONS);
    expect(enumSymbols(catalog, 'SyncRequested', ['direction'])).to.deep.equal(SYNC_DIRECTIONS);
    expect(enumSymbols(catalog, 'ReconciliationMismatchFound', ['kind'])).to.deep.equal(MISMATCH_KINDS);
    expect(enumSymbols(catalog, 'ReconciliationMismatchResolved', ['resolution'])).to.deep.equal(MISMATCH_RESOLUTIONS);
  });

  it("each category's types can share one Avro union (one topic value schema per category)", () => {
    for (const category of CATEGORIES) {
      const types = catalog.typesOf(category);
      if (types.length === 0) continue;
      const union = avro.Type.forSchema(types.map((t) => t.schema) as unknown as avro.Schema, { registry: { ...catalog.common } });
      for (const t of types) {
        const sample = (samples as Record<string, unknown>)[t.type];
        // A one-type category's union has nothing to tell apart: avsc leaves it unwrapped.
        const value = union.typeName === 'union:wrapped' ? { [`registo.${category}.${t.type}`]: sample } : sample;
        expect(union.typeName, category).to.equal(types.length > 1 ? 'union:wrapped' : 'union:unwrapped');
        const buf = union.toBuffer(value);
        expect(JSON.parse(JSON.stringify(union.fromBuffer(buf)))).to.deep.equal(value);
      }
    }
  });

  it('round-trips every sample through Avro binary to the same JSON', () => {
    for (const [type, data] of Object.entries(samples)) {
      const t = catalog.get(type).avro;
      expect(JSON.parse(JSON.stringify(t.fromBuffer(t.toBuffer(data))))).to.deep.equal(data);
    }
  });

  it('names unknown types and versions with EVENT_TYPE_UNKNOWN', () => {
    expect(() => catalog.get('Nope')).to.throw(/unknown event type 'Nope'/);
    expect(() => catalog.get('PacketValidated', 9)).to.throw(/version 9/);
  });
});
