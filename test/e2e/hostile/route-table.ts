/**
 * What the hostile-input suite knows about each HTTP route: sample path values, the query
 * parameters it declares, the roles it admits (null: public) and the kind of body it reads.
 * Keyed by "METHOD /url" exactly as registered; a registered route missing here fails the suite.
 */
type BodyKind = 'none' | 'json' | 'text' | 'packet' | 'ocsp' | 'tsa';

export interface RouteSpec {
  /** A value for each path parameter that passes the route's own checks (so refusals come from the input under test). */
  params?: Record<string, string>;
  query?: readonly string[];
  roles: readonly string[] | null;
  body: BodyKind;
  /** Text fields of a JSON body that go through the shared text check, with a valid rest of the body. */
  textFields?: { base: Record<string, unknown>; fields: readonly string[] };
  /** Other string fields of a JSON body, each sent with a NUL, a lone surrogate and a bidi override in it. */
  strings?: { base: Record<string, unknown>; fields: readonly string[] };
  /** Codes that may answer before the one a case is about (a webhook's signature is checked before its body's schema). */
  answeredFirst?: readonly string[];
  /** Protocol endpoints answer in their protocol, not problem+json (docs/errors.md). */
  protocol?: 'ocsp' | 'tsa';
}

const OFFICERS = ['identity_officer', 'adjudicator', 'operator'];
const READERS = ['holder_channel', 'identity_officer', 'approver', 'operator'];
const UIN = { uin: '1234567890' };
const NUMBERS = ['from', 'to'];

export const ROUTES: Record<string, RouteSpec> = {
  'GET /healthz': { roles: null, body: 'none' },
  'GET /readyz': { roles: null, body: 'none' },
  'GET /v1/intake/key': { roles: null, body: 'none' },
  'POST /v1/packets': { roles: null, body: 'packet' },
  'GET /v1/packets/:regId': { params: { regId: '10031-00042-20261122093015' }, roles: ['registration_client', ...OFFICERS], body: 'none' },
  'GET /v1/adjudications': { query: ['status', 'limit', 'after'], roles: ['adjudicator', 'identity_officer', 'operator'], body: 'none' },
  'GET /v1/adjudications/:id': { params: { id: 'ADJ-none' }, roles: ['adjudicator'], body: 'none' },
  'POST /v1/adjudications/:id/decision': {
    params: { id: 'ADJ-none' },
    roles: ['adjudicator'],
    body: 'json',
    textFields: { base: { decision: 'REJECT', reason: 'not the same person' }, fields: ['reason'] },
    strings: { base: { decision: 'REJECT', reason: 'not the same person', targetUin: '1234567890' }, fields: ['decision', 'targetUin'] },
  },
  'GET /v1/identities/:uin': { params: UIN, roles: OFFICERS, body: 'none' },
  'GET /v1/identities': { query: ['civilRegistryNumber'], roles: OFFICERS, body: 'none' },
  'POST /v1/identities/:uin/status': {
    params: UIN,
    roles: ['identity_officer'],
    body: 'json',
    textFields: { base: { status: 'BLOCKED', reason: 'court order 12/2026' }, fields: ['reason'] },
    strings: { base: { status: 'BLOCKED', reason: 'court order 12/2026' }, fields: ['status'] },
  },
  'POST /v1/identities/:uin/erasure': {
    params: UIN,
    roles: ['operator'],
    body: 'json',
    textFields: { base: { legalBasis: 'court order 12/2026', orderRef: 'TJ-STP-12-2026' }, fields: ['legalBasis', 'orderRef'] },
  },
  'GET /v1/holders/:uin/credentials': { params: UIN, roles: READERS, body: 'none' },
  'GET /v1/credentials/:credentialId': { params: { credentialId: 'cred-1234567890-x' }, roles: READERS, body: 'none' },
  'POST /v1/holders/:uin/credentials/x509': { params: UIN, roles: ['identity_officer', 'holder_channel'], body: 'json', strings: { base: { csr: 'MIIB' }, fields: ['csr'] } },
  'POST /v1/credentials/:credentialId/status-requests': {
    params: { credentialId: 'cred-1234567890-x' },
    roles: ['identity_officer', 'approver'],
    body: 'json',
    textFields: { base: { action: 'SUSPEND', comment: 'holder reported it stolen' }, fields: ['comment'] },
    strings: { base: { action: 'REVOKE', reason: 'keyCompromise', comment: 'holder reported it stolen' }, fields: ['action', 'reason'] },
  },
  'GET /v1/credential-status-requests': { query: ['state'], roles: ['approver', 'identity_officer', 'operator'], body: 'none' },
  'POST /v1/credential-status-requests/:requestId/approve': {
    params: { requestId: 'req-none' },
    roles: ['approver'],
    body: 'json',
    textFields: { base: { comment: 'checked the file' }, fields: ['comment'] },
  },
  'POST /v1/credential-status-requests/:requestId/reject': {
    params: { requestId: 'req-none' },
    roles: ['approver'],
    body: 'json',
    textFields: { base: { comment: 'not enough evidence' }, fields: ['comment'] },
  },
  'GET /v1/status-lists/:id': { params: { id: 'none' }, roles: null, body: 'none' },
  'POST /v1/verify-credential': { roles: null, body: 'json', strings: { base: { credential: 'a.b.c' }, fields: ['credential'] } },
  'GET /v1/print-orders': { query: ['after', 'limit'], roles: ['print_bureau'], body: 'none' },
  'GET /ocsp': { roles: null, body: 'none', protocol: 'ocsp' },
  'GET /ocsp/*': { roles: null, body: 'none', protocol: 'ocsp' },
  'POST /ocsp': { roles: null, body: 'ocsp', protocol: 'ocsp' },
  'GET /crl/identity-ca.crl': { roles: null, body: 'none' },
  'GET /crl/identity-ca-delta.crl': { roles: null, body: 'none' },
  'GET /crl/root-ca.crl': { roles: null, body: 'none' },
  'GET /v1/audit/checkpoint': { roles: null, body: 'none' },
  'GET /v1/audit/checkpoints/latest': { roles: null, body: 'none' },
  'GET /v1/audit/checkpoints/:treeSize': { params: { treeSize: '1' }, roles: null, body: 'none' },
  'POST /v1/audit/checkpoints/:treeSize/cosignatures': { params: { treeSize: '1' }, roles: null, body: 'text' },
  'GET /v1/audit/checkpoints': { query: ['fromSize', 'toSize', 'limit'], roles: null, body: 'none' },
  'GET /v1/audit/proofs/inclusion': { query: ['position', 'treeSize'], roles: null, body: 'none' },
  'GET /v1/audit/proofs/consistency': { query: NUMBERS, roles: null, body: 'none' },
  'GET /v1/audit/keys': { roles: null, body: 'none' },
  'GET /v1/audit/export': { query: NUMBERS, roles: ['auditor', 'operator'], body: 'none' },
  'GET /v1/audit/health': { query: NUMBERS, roles: ['auditor', 'operator'], body: 'none' },
  'POST /v1/sync/webhooks/:system': { params: { system: 'siga' }, roles: null, body: 'json', answeredFirst: ['WEBHOOK_SIGNATURE_INVALID'] },
  'POST /v1/sync/redrive': { roles: ['operator'], body: 'json', strings: { base: { system: 'SIGA', syncId: 'sync-none' }, fields: ['system', 'syncId'] } },
  'POST /v1/sync/reconciliations': { roles: ['operator'], body: 'json', strings: { base: { system: 'siga', rules: false }, fields: ['system'] } },
  'GET /v1/sync/report': { query: ['system', 'format'], roles: ['operator'], body: 'none' },
  'POST /v1/sync/mismatches/:mismatchId/resolve': {
    params: { mismatchId: 'mm-none' },
    roles: ['operator'],
    body: 'json',
    textFields: { base: { action: 'NONE', note: 'checked with the registry' }, fields: ['note'] },
  },
  'POST /tsa': { roles: null, body: 'tsa', protocol: 'tsa' },
};

/** The development tokens (infra DEV_API_TOKENS), one per role. */
export const TOKEN_OF_ROLE: Record<string, string> = {
  identity_officer: 'dev-officer',
  adjudicator: 'dev-adjudicator',
  registration_client: 'dev-client',
  operator: 'dev-operator',
  auditor: 'dev-auditor',
  approver: 'dev-approver',
  holder_channel: 'dev-holder-channel',
  print_bureau: 'dev-print-bureau',
};
