import { expect } from 'chai';
import { type RunningPlatform, startPlatform } from '@registo/cli';
import { createLogger } from '@registo/base';
import { DEV_API_TOKENS, loadConfig } from '@registo/config';
import { createTestDatabase, platformTestEnv, type TestDatabase } from '../../src/index.js';
import { ROUTES, type RouteSpec, TOKEN_OF_ROLE } from './route-table.js';

/*
 * Hostile input over every HTTP route of a running platform (api role on PostgreSQL, simulators
 * behind it): bad URLs, NULs and repeated or unknown query parameters, bodies that are not JSON
 * or repeat a key, text with bidi overrides, zero-width characters, BOMs and lone surrogates,
 * CSRs with garbage after the base64, missing and wrong tokens. Cases come from the route table,
 * and a registered route without an entry fails the suite. Every answer must be a refusal below
 * 500; outside the OCSP and TSA protocols it is problem+json with a stable code and the request
 * id; and the event store's head does not move.
 */

interface Case {
  name: string;
  route: string;
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** The code the refusal must carry, when the case is about one rule. */
  code?: string;
}

const ROLES = Object.keys(TOKEN_OF_ROLE);
const BAD_TEXT: Record<string, string> = {
  'right-to-left override': 'Maria \u202Eairam',
  'zero-width space': 'Ma\u200Bria',
  'zero-width joiner': 'Ma\u200Dria',
  'byte-order mark': '\uFEFFMaria',
  'lone surrogate': 'Maria \uD800',
  'NUL': 'Maria\u0000',
  'bell control character': 'Maria\u0007 Silva',
  'bidi isolate': 'Maria \u2067x\u2069',
  'private-use character': 'Maria \uE000',
  'line separator': 'Maria\u2028Silva',
};
/** A valid-looking CSR prefix: the point is what follows it. */
const CSR_B64 = 'MIIBMzCB2gIBADBAMQswCQYDVQQGEwJTVDEPMA0GA1UECgwGUmVnaXN0bzEgMB4GA1UEAwwXaG9sZGVyIGtleSBmb3IgYSB0ZXN0ZXI=';

function pathOf(url: string, params: Record<string, string> = {}, override: Record<string, string> = {}): string {
  return url.replace(/:([A-Za-z0-9_]+)/g, (_m, name: string) => override[name] ?? encodeURIComponent(params[name] ?? 'x')).replace('/*', '/AAAA');
}

function tokenFor(spec: RouteSpec): Record<string, string> {
  const role = spec.roles?.[0];
  return role ? { authorization: `Bearer ${TOKEN_OF_ROLE[role]}` } : {};
}

function casesFor(route: string, spec: RouteSpec): Case[] {
  const [method, url] = route.split(' ') as [string, string];
  const path = pathOf(url, spec.params);
  const auth = tokenFor(spec);
  const json = { ...auth, 'content-type': 'application/json' };
  const out: Case[] = [];
  const add = (c: Omit<Case, 'route' | 'method'> & { method?: string }) => out.push({ method, route, ...c });
  const sendsBody = method === 'POST';
  const body = spec.body === 'json' ? JSON.stringify(spec.textFields?.base ?? {}) : undefined;
  const baseHeaders = spec.body === 'json' ? json : auth;

  // The URL: NUL, a byte that is not UTF-8, an over-long value in every path parameter.
  for (const name of Object.keys(spec.params ?? {})) {
    add({ name: `NUL in :${name}`, path: pathOf(url, spec.params, { [name]: '%00' }), headers: baseHeaders, ...(body && { body }) });
    add({ name: `%FF in :${name}`, path: pathOf(url, spec.params, { [name]: '%FF' }), headers: baseHeaders, ...(body && { body }), code: 'REQUEST_URL_INVALID' });
    add({ name: `control character in :${name}`, path: pathOf(url, spec.params, { [name]: 'a%1Bb' }), headers: baseHeaders, ...(body && { body }) });
    add({ name: `over-long :${name}`, path: pathOf(url, spec.params, { [name]: 'a'.repeat(600) }), headers: baseHeaders, ...(body && { body }) });
  }
  // A method the route does not have.
  if (method === 'GET') add({ name: 'DELETE on a read route', method: 'DELETE', path, headers: auth, code: 'NOT_FOUND' });
  else add({ name: 'PUT on a write route', method: 'PUT', path, headers: baseHeaders, ...(body && { body }), code: 'NOT_FOUND' });
  // The query: unknown, NUL, repeated, not ASCII.
  add({ name: 'unknown query parameter', path: `${path}?zz=1`, headers: baseHeaders, ...(body && { body }), ...(!spec.protocol && { code: 'REQUEST_INVALID' }) });
  add({ name: 'bad percent-encoding in the query', path: `${path}?zz=%FF%00`, headers: baseHeaders, ...(body && { body }) });
  for (const q of spec.query ?? []) {
    add({ name: `NUL in ?${q}`, path: `${path}?${q}=%00`, headers: baseHeaders, code: 'REQUEST_INVALID' });
    add({ name: `repeated ?${q}`, path: `${path}?${q}=1&${q}=2`, headers: baseHeaders, code: 'REQUEST_INVALID' });
    add({ name: `non-ASCII ?${q}`, path: `${path}?${q}=%C3%A9%E2%80%AE`, headers: baseHeaders, code: 'REQUEST_INVALID' });
  }
  // Who is asking: nobody, a stranger, a wrong scheme, every role the route does not admit.
  if (spec.roles) {
    const withBody = (h: Record<string, string>) => ({ headers: spec.body === 'json' ? { ...h, 'content-type': 'application/json' } : h, ...(body && { body }) });
    add({ name: 'no token', path, ...withBody({}), code: 'UNAUTHENTICATED' });
    add({ name: 'unknown token', path, ...withBody({ authorization: 'Bearer not-a-token' }), code: 'UNAUTHENTICATED' });
    add({ name: 'Basic credentials', path, ...withBody({ authorization: 'Basic ZGV2LW9mZmljZXI6eA==' }), code: 'UNAUTHENTICATED' });
    add({ name: 'empty bearer', path, ...withBody({ authorization: 'Bearer ' }), code: 'UNAUTHENTICATED' });
    for (const role of ROLES.filter((r) => !spec.roles!.includes(r))) {
      add({ name: `wrong role ${role}`, path, ...withBody({ authorization: `Bearer ${TOKEN_OF_ROLE[role]}` }), code: 'FORBIDDEN' });
    }
  }
  if (!sendsBody) return out;
  // The body, for every route that reads one.
  if (spec.body === 'json') {
    add({ name: 'not JSON', path, headers: json, body: '{"a":', code: 'REQUEST_INVALID' });
    add({ name: 'empty JSON body', path, headers: json, body: '', code: 'REQUEST_INVALID' });
    add({ name: 'a JSON array', path, headers: json, body: '[1,2]', code: 'REQUEST_INVALID' });
    add({ name: '__proto__ key', path, headers: json, body: '{"__proto__":{"admin":true}}', code: 'REQUEST_INVALID' });
    add({ name: 'nested 100 deep', path, headers: json, body: `${'['.repeat(100)}${']'.repeat(100)}`, code: 'REQUEST_INVALID' });
    add({ name: 'XML content type', path, headers: { ...auth, 'content-type': 'application/xml' }, body: '<a/>', code: 'MEDIA_TYPE_UNSUPPORTED' });
    add({ name: 'body over the limit', path, headers: json, body: `{"a":"${'x'.repeat(2 * 1024 * 1024 + 10)}"}`, code: 'REQUEST_TOO_LARGE' });
    const base = spec.textFields?.base ?? { a: 1 };
    const [first] = Object.keys(base);
    const dup = `${JSON.stringify(base).slice(0, -1)},${JSON.stringify(first)}:${JSON.stringify(base[first!])}}`;
    add({ name: 'duplicate key', path, headers: json, body: dup, code: 'REQUEST_INVALID' });
    for (const field of spec.textFields?.fields ?? []) {
      add({ name: `a number for ${field}`, path, headers: json, body: JSON.stringify({ ...base, [field]: 42 }), code: 'REQUEST_INVALID' });
      add({ name: `a list for ${field}`, path, headers: json, body: JSON.stringify({ ...base, [field]: ['a', 'b'] }), code: 'REQUEST_INVALID' });
      for (const [kind, value] of Object.entries(BAD_TEXT)) {
        // JSON.stringify escapes a lone surrogate as \ud800, as a hostile client would send it.
        add({ name: `${kind} in ${field}`, path, headers: json, body: JSON.stringify({ ...base, [field]: value }), code: 'REQUEST_INVALID' });
      }
    }
    for (const field of spec.strings?.fields ?? []) {
      for (const [kind, value] of Object.entries({ NUL: 'a\u0000b', 'lone surrogate': 'a\uDFFFb', 'right-to-left override': 'a\u202Eb' })) {
        add({ name: `${kind} in ${field}`, path, headers: json, body: JSON.stringify({ ...spec.strings!.base, [field]: value }) });
      }
    }
    if (route === 'POST /v1/holders/:uin/credentials/x509') {
      for (const [kind, csr] of Object.entries({
        'garbage after the base64': `${CSR_B64}garbage!!`,
        'base64 after the padding': `${CSR_B64}AAAA`,
        'text after a PEM block': `-----BEGIN CERTIFICATE REQUEST-----\n${CSR_B64}\n-----END CERTIFICATE REQUEST-----\ntrailing`,
        'two PEM blocks': `-----BEGIN CERTIFICATE REQUEST-----\n${CSR_B64}\n-----END CERTIFICATE REQUEST-----\n-----BEGIN CERTIFICATE REQUEST-----\n${CSR_B64}\n-----END CERTIFICATE REQUEST-----`,
        'NUL inside the base64': `${CSR_B64.slice(0, 20)}\u0000${CSR_B64.slice(20)}`,
      })) {
        add({ name: `CSR: ${kind}`, path, headers: json, body: JSON.stringify({ csr }), code: 'CSR_MALFORMED' });
      }
    }
  }
  if (spec.body === 'packet') {
    for (const [kind, b] of Object.entries({ empty: '', 'NUL bytes': '\u0000\u0000\u0000', 'JSON with duplicate keys': '{"regId":"a","regId":"b"}', 'five dots': '.....', 'not base64url': 'a.b.c.d.%%' })) {
      add({ name: `packet: ${kind}`, path, headers: { 'content-type': 'application/jose' }, body: b });
    }
    add({ name: 'packet over the limit', path, headers: { 'content-type': 'application/jose' }, body: 'a'.repeat(3 * 1024 * 1024), code: 'PACKET_TOO_LARGE' });
  }
  if (spec.body === 'text') {
    add({ name: 'cosignature: not a signature line', path, headers: { 'content-type': 'text/plain' }, body: 'hello\u0000' });
    add({ name: 'cosignature: base64 with garbage', path, headers: { 'content-type': 'text/plain' }, body: '— witness AAAA==garbage' });
  }
  if (spec.body === 'ocsp' || spec.body === 'tsa') {
    const type = spec.body === 'ocsp' ? 'application/ocsp-request' : 'application/timestamp-query';
    add({ name: 'garbage DER', path, headers: { 'content-type': type }, body: Buffer.from([0x30, 0x82, 0xff, 0xff, 0x00]) });
    add({ name: 'JSON instead of DER', path, headers: { 'content-type': 'application/json' }, body: '{"a":1,"a":2}' });
  }
  return out;
}

describe('hostile input over every HTTP route: a clean 4xx, problem+json with a code and request id, nothing written', function () {
  this.timeout(300_000);
  let db: TestDatabase;
  let platform: RunningPlatform;
  /** What the platform logged: a refusal is no error, and nothing a caller sent is written down. */
  const logged: string[] = [];

  before(async () => {
    db = await createTestDatabase();
    const { KAFKA_BROKERS: _kafka, ...inherited } = process.env;
    const env = platformTestEnv({ databaseUrl: db.url, tokens: DEV_API_TOKENS, label: 'hostile', inherited, extra: { REGISTO_ROLES: 'api' } });
    platform = await startPlatform(loadConfig(env), createLogger('info', 'hostile', { write: (line: string) => void logged.push(line) }));
  });
  after(async () => {
    await platform?.close();
    await db?.drop();
  });

  it('every registered route has an entry in the route table, and every entry is a registered route', () => {
    const registered = platform.routes.map((r) => `${r.method} ${r.url}`);
    expect(registered.filter((r) => !(r in ROUTES)), 'routes with no hostile cases').to.deep.equal([]);
    expect(Object.keys(ROUTES).filter((r) => !registered.includes(r)), 'table entries for routes that do not exist').to.deep.equal([]);
  });

  it('each hostile case is refused below 500, as problem+json with a stable code and the request id, and nothing is written', async () => {
    const cases = Object.entries(ROUTES).flatMap(([route, spec]) => casesFor(route, spec));
    expect(cases.length).to.be.greaterThan(300);
    const before = await platform.eventStore.headPosition();
    const failures: string[] = [];
    for (const c of cases) {
      const spec = ROUTES[c.route]!;
      const res = await fetch(`${platform.url}${c.path}`, { method: c.method, headers: c.headers ?? {}, ...(c.body !== undefined && { body: c.body }) });
      const type = res.headers.get('content-type') ?? '';
      const text = await res.text();
      const label = `${c.route} — ${c.name}: ${res.status} ${type} ${text.slice(0, 160)}`;
      if (res.status >= 500) failures.push(`5xx: ${label}`);
      else if (type.startsWith('application/problem+json')) {
        if (res.status < 400) failures.push(`problem below 400: ${label}`);
        const problem = JSON.parse(text) as { code?: unknown; requestId?: unknown; status?: unknown };
        if (typeof problem.code !== 'string' || !/^[A-Z][A-Z0-9_]+$/.test(problem.code)) failures.push(`no stable code: ${label}`);
        if (typeof problem.requestId !== 'string' || problem.requestId.length < 8) failures.push(`no request id: ${label}`);
        if (problem.status !== res.status) failures.push(`status differs: ${label}`);
        if (c.code && problem.code !== c.code && !spec.answeredFirst?.includes(problem.code as string)) failures.push(`expected ${c.code}: ${label}`);
      } else if (!spec.protocol || res.status >= 500) failures.push(`not problem+json: ${label}`);
      else if (c.code) failures.push(`expected ${c.code}: ${label}`);
      else if (res.status < 400 && !/ocsp-response|timestamp-reply/.test(type)) failures.push(`accepted: ${label}`);
    }
    expect(failures, `${failures.length} of ${cases.length} cases`).to.deep.equal([]);
    expect(await platform.eventStore.headPosition()).to.equal(before);
    const lines = logged.map((l) => JSON.parse(l) as { level: number; msg?: string });
    expect(lines.filter((l) => l.level >= 50), 'error lines').to.deep.equal([]);
    for (const value of [...Object.values(BAD_TEXT).map((v) => JSON.stringify(v).slice(1, -1)), 'garbage!!', 'not-a-token', 'ZGV2LW9mZmljZXI6eA==']) {
      expect(logged.some((l) => l.includes(value)), `a log line holds ${JSON.stringify(value)}`).to.equal(false);
    }
  });
});
