import type { EventDataMap } from '../src/index.js';

const sealed = { subjectId: 'sub-1', keyVersion: 1, alg: 'A256GCM', iv: 'aXZpdml2aXZpdg', ciphertext: 'Y2lwaGVydGV4dA' };

/**
 * One sample per event type, typed with the hand-kept TS mirror. The compiler insists on an
 * entry for every type and on every TS field; the tests insist each passes its Avro schema
 * with no undeclared field. Together they keep the TS types and the .avsc files in step.
 */
export const samples: { [K in keyof EventDataMap]: EventDataMap[K] } = {
  EnrollmentSubmitted: {
    regId: 'R-1',
    packetType: 'NEW',
    residency: 'CITIZEN',
    centreId: 'C-1',
    operatorId: 'op-1',
    deviceId: 'd-1',
    capturedAt: '2026-11-20T10:00:00Z',
    packetHash: 'ab',
    sealed,
  },
  PacketValidated: { regId: 'R-1', checks: ['signature'] },
  PacketRejected: { regId: 'R-1', code: 'BAD_SIGNATURE', reason: 'no', packetHash: null },
  ExternalCheckRequested: { regId: 'R-1', system: 'SIGA', checkId: 'k', attempt: 1 },
  ExternalCheckCompleted: { regId: 'R-1', system: 'IMMIGRATION', checkId: 'k', outcome: 'MATCH', discrepancies: [] },
  DuplicateSuspected: { regId: 'R-1', candidateUin: '2345678901', method: 'BIOMETRIC', score: 0.9 },
  AdjudicationRequested: { regId: 'R-1', adjudicationId: 'a', reasons: ['dup'] },
  AdjudicationDecided: { regId: 'R-1', adjudicationId: 'a', decision: 'APPROVE', reason: 'r', adjudicatorId: 'adj', targetUin: null },
  EnrollmentApproved: { regId: 'R-1', uin: '2345678901' },
  EnrollmentRejected: { regId: 'R-1', code: 'X', reason: 'y' },
  IdentityCreated: { uin: '2345678901', regId: 'R-1', residency: 'FOREIGNER', sealed, civilRegistryIndex: null },
  IdentityUpdated: { uin: '2345678901', regId: 'R-2', changedFields: ['address'], sealed },
  IdentityStatusChanged: { uin: '2345678901', from: 'ACTIVE', to: 'DECEASED', reason: 'SIGA death record', source: 'SIGA' },
  SubjectKeyDestroyed: { uin: '2345678901', subjectId: 'sub-1', legalBasis: 'court order', orderRef: null },
  SyncRequested: {
    syncId: 'siga.e-1',
    system: 'SIGA',
    direction: 'OUTBOUND',
    operation: 'ENROLLED',
    uin: '2345678901',
    sourceEventId: 'e-1',
    sourceStreamId: 'identity-2345678901',
    sourceRevision: 0,
    sourceType: 'IdentityCreated',
    fields: ['uin', 'civilRegistryNumber', 'status'],
  },
  SyncSucceeded: { syncId: 'siga.e-1', system: 'SIGA', attempt: 2, durationMs: 21, replayed: false, outcome: 'APPLIED' },
  SyncFailed: { syncId: 'siga.e-1', system: 'SIGA', attempt: 1, code: 'EXTERNAL_UNAVAILABLE', reason: 'SIGA: answered 500', retryable: true },
  SyncDeadLettered: { syncId: 'siga.e-1', system: 'SIGA', attempts: 4, code: 'EXTERNAL_UNAVAILABLE', reason: 'SIGA: answered 503' },
  SyncRedriven: { syncId: 'siga.e-1', system: 'SIGA', redriveId: 'r-1', by: 'operator-1' },
  ReconciliationMismatchFound: {
    mismatchId: 'SIGA.2345678901.surname',
    runId: 'run-1',
    system: 'SIGA',
    uin: '2345678901',
    field: 'surname',
    kind: 'VALUE_DIFFERS',
    registerValue: null,
    externalValue: null,
    sealed,
    proposedRule: null,
  },
  ReconciliationMismatchResolved: {
    mismatchId: 'SIGA.2345678901.surname',
    system: 'SIGA',
    resolution: 'OPERATOR',
    rule: null,
    action: 'ACCEPT_EXTERNAL',
    by: 'operator-1',
    note: '',
  },
  KeyCeremonyPerformed: {
    mode: 'non_qualified',
    policyOid: '1.3.6.1.4.1.99999.1.2',
    tokenLabel: null,
    performedBy: 'custodian-1',
    keys: [
      {
        label: 'registo-root-ca',
        role: 'root_ca',
        created: true,
        publicKeySha256: 'ab'.repeat(32),
        certificate: {
          serialNumber: '751651D74917621B3931EBCACAA644BE',
          sha256: 'cd'.repeat(32),
          notAfter: '2046-11-17T03:19:54.000Z',
          subject: 'O=Registo, OU=Trust Services, CN=Registo Root CA (non-qualified)',
          issuer: 'O=Registo, OU=Trust Services, CN=Registo Root CA (non-qualified)',
          issued: true,
        },
      },
      { label: 'registo-kek', role: 'kek', created: false, publicKeySha256: null, certificate: null },
    ],
  },
};
