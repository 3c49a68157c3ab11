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
  CheckpointSigned: {
    origin: 'registo.example/audit',
    treeSize: 12,
    rootHash: 'ab'.repeat(32),
    note: 'registo.example/audit\n12\nq6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=\n\n\u2014 registo.example/audit AAAAAA==\n',
    noteSha256: 'cd'.repeat(32),
    previousNoteSha256: null,
    keyId: '01020304',
    signerMode: 'non_qualified',
    timestampToken: null,
    signedAt: '2026-12-01T10:00:00.000Z',
  },
};
