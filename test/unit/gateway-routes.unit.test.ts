import { createHmac } from 'node:crypto';
import { expect } from 'chai';
import { registeredRoutes } from '@registo/gateways';
import { GATEWAY_WEBHOOK_SECRET, openGatewayApp, type GatewayApp } from '../src/index.js';
import { ROUTES, type RouteSpec, TOKEN_OF_ROLE } from '../e2e/hostile/route-table.js';

/*
 * Every gateway route through Fastify's inject, over in-process adapters (PGlite in memory,
 * software keys, fakes for the network): no server of any kind. The hostile-input route table
 * (test/e2e/hostile/route-table.ts) is the list of routes; each one is called without a token,
 * with every role it does not admit, and once well formed, whose answer is pinned below.
 */

interface Inject {
  method: 'GET' | 'POST';
  url: string;
  headers: Record<string, string>;
  payload?: string | Buffer;
}

interface Answer {
  status: number;
  /** The problem's code; absent: a success, whose content type is `type`. */
  code?: string;
  type?: RegExp;
  /** Sent as the query string; `as` names the admitted role used (default the table's first). */
  query?: string;
  as?: string;
}

const JSON_TYPE = /^application\/json/;
const NOT_FOUND = { status: 404, code: 'NOT_FOUND' };
const NO_CHECKPOINT = { status: 404, code: 'AUDIT_NO_CHECKPOINT' };

/**
 * The answer to a well-formed request (an admitted role, valid path parameters, the table's base
 * body) on a platform with an empty log: a success where one is possible without prior events,
 * otherwise the refusal of the route's own rule (nothing by that id, a missing parameter).
 */
const WELL_FORMED: Record<string, Answer> = {
  'GET /healthz': { status: 200, type: JSON_TYPE },
  'GET /readyz': { status: 200, type: JSON_TYPE },
  'GET /v1/intake/key': { status: 200, type: JSON_TYPE },
  'POST /v1/packets': { status: 400, code: 'PACKET_MALFORMED' },
  'GET /v1/packets/:regId': NOT_FOUND,
  'GET /v1/adjudications': { status: 200, type: JSON_TYPE, query: 'status=ALL&limit=5' },
  'GET /v1/adjudications/:id': NOT_FOUND,
  'POST /v1/adjudications/:id/decision': NOT_FOUND,
  'GET /v1/identities/:uin': NOT_FOUND,
  'GET /v1/identities': { status: 200, type: JSON_TYPE, query: 'civilRegistryNumber=RC-0004711-3' },
  'POST /v1/identities/:uin/status': NOT_FOUND,
  'POST /v1/identities/:uin/erasure': NOT_FOUND,
  // The holder channel needs a holder's proof first; an officer at the counter is told there is no such identity.
  'GET /v1/holders/:uin/credentials': { ...NOT_FOUND, as: 'identity_officer' },
  'GET /v1/credentials/:credentialId': NOT_FOUND,
  'POST /v1/holders/:uin/credentials/x509': { status: 400, code: 'CSR_MALFORMED' },
  'POST /v1/credentials/:credentialId/status-requests': NOT_FOUND,
  'GET /v1/credential-status-requests': { status: 200, type: JSON_TYPE },
  'POST /v1/credential-status-requests/:requestId/approve': NOT_FOUND,
  'POST /v1/credential-status-requests/:requestId/reject': NOT_FOUND,
  'GET /v1/status-lists/:id': NOT_FOUND,
  'POST /v1/verify-credential': { status: 400, code: 'CREDENTIAL_MALFORMED' },
  'GET /v1/print-orders': { status: 200, type: /^application\/x-ndjson/ },
  // OCSP answers every problem in its own protocol (malformedRequest), never problem+json.
  'GET /ocsp': { status: 400, type: /^application\/ocsp-response/ },
  'GET /ocsp/*': { status: 200, type: /^application\/ocsp-response/ },
  'POST /ocsp': { status: 200, type: /^application\/ocsp-response/ },
  'GET /crl/identity-ca.crl': { status: 200, type: /^application\/pkix-crl/ },
  'GET /crl/identity-ca-delta.crl': { status: 200, type: /^application\/pkix-crl/ },
  'GET /crl/root-ca.crl': { status: 200, type: /^application\/pkix-crl/ },
  'GET /v1/audit/checkpoint': NO_CHECKPOINT,
  'GET /v1/audit/checkpoints/latest': NO_CHECKPOINT,
  'GET /v1/audit/checkpoints/:treeSize': NO_CHECKPOINT,
  'POST /v1/audit/checkpoints/:treeSize/cosignatures': NO_CHECKPOINT,
  'GET /v1/audit/checkpoints': { status: 200, type: JSON_TYPE },
  'GET /v1/audit/proofs/inclusion': { status: 400, code: 'AUDIT_TREE_SIZE_INVALID', query: 'position=1&treeSize=1' },
  'GET /v1/audit/proofs/consistency': { status: 400, code: 'REQUEST_INVALID' },
  'GET /v1/audit/keys': { status: 200, type: JSON_TYPE },
  'GET /v1/audit/export': { status: 200, type: /^application\/x-ndjson/ },
  'GET /v1/audit/health': { status: 200, type: JSON_TYPE },
  'POST /v1/sync/webhooks/:system': { status: 200, type: JSON_TYPE },
  'POST /v1/sync/redrive': NOT_FOUND,
  'POST /v1/sync/reconciliations': { status: 200, type: JSON_TYPE },
  'GET /v1/sync/report': { status: 200, type: JSON_TYPE, query: 'system=siga&format=json' },
  'POST /v1/sync/mismatches/:mismatchId/resolve': { status: 400, code: 'REQUEST_INVALID' },
  // TSA refusals are TimeStampResp rejections (RFC 3161), never problem+json.
  'POST /tsa': { status: 200, type: /^application\/timestamp-reply/ },
};

const ROLES = Object.keys(TOKEN_OF_ROLE);

function pathOf(url: string, spec: RouteSpec): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, (_m, name: string) => encodeURIComponent(spec.params?.[name] ?? 'x')).replace('/*', '/AAAA');
}

const bearer = (role: string): Record<string, string> => ({ authorization: `Bearer ${TOKEN_OF_ROLE[role]}` });

/** A request the route's own checks accept in shape, from the route table. */
function wellFormed(route: string, spec: RouteSpec, headers: Record<string, string> = spec.roles ? bearer(WELL_FORMED[route]?.as ?? spec.roles[0]!) : {}): Inject {
  const [method, url] = route.split(' ') as ['GET' | 'POST', string];
  const query = WELL_FORMED[route]?.query;
  const request: Inject = { method, url: `${pathOf(url, spec)}${query ? `?${query}` : ''}`, headers };
  if (method !== 'POST') return request;
  switch (spec.body) {
    case 'json': {
      const json = { ...headers, 'content-type': 'application/json' };
      if (route !== 'POST /v1/sync/webhooks/:system') return { ...request, payload: JSON.stringify(spec.textFields?.base ?? spec.strings?.base ?? {}), headers: json };
      const { body, signature } = signedChange();
      return { ...request, payload: body, headers: { ...json, 'x-registo-signature': signature } };
    }
    case 'text':
      return { ...request, payload: '— witness AAAA', headers: { ...headers, 'content-type': 'text/plain' } };
    case 'packet':
      return { ...request, payload: 'a.b.c.d.e', headers: { ...headers, 'content-type': 'application/jose' } };
    case 'ocsp':
      return { ...request, payload: Buffer.from([0x30, 0x00]), headers: { ...headers, 'content-type': 'application/ocsp-request' } };
    case 'tsa':
      return { ...request, payload: Buffer.from([0x30, 0x00]), headers: { ...headers, 'content-type': 'application/timestamp-query' } };
    default:
      return request;
  }
}

/** A SIGA change as its webhook sends it, signed with the shared secret. */
function signedChange(): { body: string; signature: string } {
  const body = JSON.stringify({ system: 'SIGA', change: { seq: 1, changeId: 'chg-1', type: 'DECEASED', uin: '1234567890', at: '2026-11-20T10:00:00Z', details: {} } });
  return { body, signature: `sha256=${createHmac('sha256', GATEWAY_WEBHOOK_SECRET).update(body).digest('hex')}` };
}

describe('gateway routes over in-process adapters (inject: PGlite in memory, software keys, fakes for the network)', function () {
  let platform: GatewayApp;
  before(async () => {
    platform = await openGatewayApp();
  });
  after(async () => platform?.close());

  const problemOf = (res: { headers: Record<string, unknown>; body: string }): { code?: string } =>
    String(res.headers['content-type']).startsWith('application/problem+json') ? (JSON.parse(res.body) as { code?: string }) : {};

  it('registers exactly the routes of the route table', () => {
    const registered = registeredRoutes(platform.app).map((r) => `${r.method} ${r.url}`);
    expect(registered.filter((r) => !(r in ROUTES)), 'routes the table lacks').to.deep.equal([]);
    expect(Object.keys(ROUTES).filter((r) => !registered.includes(r)), 'table entries not registered').to.deep.equal([]);
  });

  it('every route of the table has its well-formed answer pinned here', () => {
    expect(Object.keys(ROUTES).filter((r) => !(r in WELL_FORMED)), 'routes without a pinned answer').to.deep.equal([]);
  });

  it('a route that admits roles answers 401 UNAUTHENTICATED without a token or with an unknown one, and 403 FORBIDDEN to every other role', async () => {
    const failures: string[] = [];
    for (const [route, spec] of Object.entries(ROUTES)) {
      if (!spec.roles) continue;
      const cases: Array<[string, Record<string, string>, number, string]> = [
        ['no token', {}, 401, 'UNAUTHENTICATED'],
        ['unknown token', { authorization: 'Bearer not-a-token' }, 401, 'UNAUTHENTICATED'],
        ...ROLES.filter((r) => !spec.roles!.includes(r)).map((r): [string, Record<string, string>, number, string] => [`role ${r}`, bearer(r), 403, 'FORBIDDEN']),
      ];
      for (const [name, headers, status, code] of cases) {
        const res = await platform.app.inject(wellFormed(route, spec, headers));
        if (res.statusCode !== status || problemOf(res).code !== code) failures.push(`${route} (${name}): ${res.statusCode} ${res.body.slice(0, 120)}`);
      }
    }
    expect(failures).to.deep.equal([]);
  });

  it('a public route asks for no token', async () => {
    for (const [route, spec] of Object.entries(ROUTES).filter(([, s]) => !s.roles)) {
      const res = await platform.app.inject(wellFormed(route, spec));
      expect(res.statusCode, route).to.not.be.oneOf([401, 403]);
    }
  });

  it('each route answers a well-formed request as pinned: a success, or the refusal of its own rule as problem+json', async () => {
    const failures: string[] = [];
    const [applied, reconciled] = [platform.calls.appliedChanges.length, platform.calls.reconciliations.length];
    for (const [route, spec] of Object.entries(ROUTES)) {
      const expected = WELL_FORMED[route]!;
      const res = await platform.app.inject(wellFormed(route, spec));
      const type = String(res.headers['content-type']);
      const label = `${route}: ${res.statusCode} ${type} ${res.body.slice(0, 120)}`;
      if (res.statusCode !== expected.status) failures.push(`status ${expected.status} expected — ${label}`);
      if (expected.code && problemOf(res).code !== expected.code) failures.push(`${expected.code} expected — ${label}`);
      if (expected.type && !expected.type.test(type)) failures.push(`${expected.type} expected — ${label}`);
    }
    expect(failures).to.deep.equal([]);
    // The webhook and the reconciliation reached what the composition root gives them.
    expect(platform.calls.appliedChanges.slice(applied).map((c) => c.system)).to.deep.equal(['SIGA']);
    expect(platform.calls.reconciliations.slice(reconciled)).to.deep.equal(['SIGA']);
  });

  it('a JSON body with a field the route does not know is REQUEST_INVALID on every route that reads one', async () => {
    const failures: string[] = [];
    for (const [route, spec] of Object.entries(ROUTES).filter(([r, s]) => s.body === 'json' && r !== 'POST /v1/sync/webhooks/:system')) {
      const base = spec.textFields?.base ?? spec.strings?.base ?? {};
      const request = { ...wellFormed(route, spec), payload: JSON.stringify({ ...base, unexpected: 1 }) };
      const res = await platform.app.inject(request);
      if (res.statusCode !== 400 || problemOf(res).code !== 'REQUEST_INVALID') failures.push(`${route}: ${res.statusCode} ${res.body.slice(0, 120)}`);
    }
    expect(failures).to.deep.equal([]);
  });

  it('a webhook whose signature does not verify is refused before its body is read, and nothing is applied', async () => {
    const before = platform.calls.appliedChanges.length;
    const { body } = signedChange();
    const res = await platform.app.inject({ method: 'POST', url: '/v1/sync/webhooks/siga', payload: body, headers: { 'content-type': 'application/json', 'x-registo-signature': `sha256=${'0'.repeat(64)}` } });
    expect(res.statusCode).to.equal(401);
    expect(problemOf(res).code).to.equal('WEBHOOK_SIGNATURE_INVALID');
    expect(platform.calls.appliedChanges).to.have.length(before);
  });

  it('no request wrote an event, and every refusal was counted for /readyz', async () => {
    expect(await platform.store.headPosition()).to.equal(0);
    const ready = (await platform.app.inject({ method: 'GET', url: '/readyz' })).json() as { refusals: Record<string, unknown> };
    expect(ready.refusals).to.be.an('object').that.is.not.empty;
  });
});
