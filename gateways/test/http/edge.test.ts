import { expect } from 'chai';
import type { FastifyInstance } from 'fastify';
import { createLogger } from '@registo/base';
import { PostgresDriver } from '@registo/event-store';
import { createHttpApp, parseJsonBody, querySchema, registeredRoutes, WHOLE_NUMBER } from '../../src/index.js';
import { RegistoError, isRegistoError } from '@registo/schemas';

const ADMIN_URL = process.env.REGISTO_TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** An app with a few routes of each shape, whose log lines the test reads back. */
function edgeApp(lines: string[], db: PostgresDriver): FastifyInstance {
  const app = createHttpApp(createLogger('info', 'edge-test', { write: (line: string) => void lines.push(line) }));
  app.get<{ Params: { id: string } }>('/things/:id', async (request) => ({ id: request.params.id }));
  app.get<{ Querystring: { limit?: string } }>('/things', { schema: { querystring: querySchema({ limit: { pattern: WHOLE_NUMBER } }) } }, async (request) => ({ limit: request.query.limit ?? null }));
  app.post<{ Body: { reason: string } }>(
    '/notes',
    { schema: { body: { type: 'object', additionalProperties: false, required: ['reason'], properties: { reason: { type: 'string', maxLength: 200, textKind: 'free' } } } } },
    async (request) => ({ reason: request.body.reason }),
  );
  // A driver error that quotes what the caller sent.
  app.get<{ Params: { value: string } }>('/lookup/:value', async (request) => db.query('SELECT $1::int AS n', [request.params.value]));
  return app;
}

describe('the HTTP edge: framework refusals as problems, strict query and JSON, shared text check, quiet logs', () => {
  const lines: string[] = [];
  let db: PostgresDriver;
  let app: FastifyInstance;
  before(async () => {
    db = new PostgresDriver({ connectionString: ADMIN_URL, maxConnections: 2 });
    app = edgeApp(lines, db);
    await app.ready();
  });
  after(async () => {
    await app.close();
    await db.close();
  });

  const problem = async (method: 'GET' | 'POST', url: string, options: { body?: string; type?: string } = {}) => {
    const res = await app.inject({ method, url, ...(options.body !== undefined && { payload: options.body, headers: { 'content-type': options.type ?? 'application/json' } }) });
    expect(res.headers['content-type'], `${url}: ${res.body}`).to.match(/^application\/problem\+json/);
    const body = res.json() as { code: string; requestId: string; status: number; instance: string };
    expect(body.status).to.equal(res.statusCode);
    expect(body.requestId).to.match(/^[0-9a-f-]{36}$/);
    return { ...body, status: res.statusCode };
  };

  it('a URL the router cannot decode is REQUEST_URL_INVALID, a body too large REQUEST_TOO_LARGE, a wrong type MEDIA_TYPE_UNSUPPORTED', async () => {
    expect(await problem('GET', '/things/%FF')).to.include({ status: 400, code: 'REQUEST_URL_INVALID' });
    expect(await problem('POST', '/notes', { body: `{"reason":"${'x'.repeat(2 * 1024 * 1024)}"}` })).to.include({ status: 413, code: 'REQUEST_TOO_LARGE' });
    expect(await problem('POST', '/notes', { body: '<reason/>', type: 'application/xml' })).to.include({ status: 415, code: 'MEDIA_TYPE_UNSUPPORTED' });
    expect(await problem('GET', '/nowhere?secret=RC-0004711-3')).to.include({ status: 404, code: 'NOT_FOUND', instance: '/nowhere' });
  });

  it('query parameters: only the declared ones, once each, in their pattern; a route that declares none takes none', async () => {
    expect((await app.inject({ url: '/things?limit=5' })).json()).to.deep.equal({ limit: '5' });
    for (const url of ['/things?limit=1&limit=2', '/things?limit=%00', '/things?other=1', '/things?limit=-1', '/things/a?x=1']) {
      expect(await problem('GET', url), url).to.include({ status: 400, code: 'REQUEST_INVALID' });
    }
    for (const url of ['/things/%00', '/things/a%1Bb', '/things/%C3%A9']) expect(await problem('GET', url), url).to.include({ status: 400, code: 'REQUEST_INVALID' });
  });

  it('JSON bodies: a key twice, __proto__, deep nesting or not JSON is REQUEST_INVALID; text fields are checked and handed on in NFC', async () => {
    expect(await problem('POST', '/notes', { body: '{"reason":"approve it","reason":"revoke it"}' })).to.include({ code: 'REQUEST_INVALID', reason: 'DUPLICATE_KEY' });
    expect(await problem('POST', '/notes', { body: '{"reason":"x","__proto__":{"a":1}}' })).to.include({ code: 'REQUEST_INVALID', reason: 'PROTO_KEY' });
    expect(await problem('POST', '/notes', { body: '{"reason":' })).to.include({ code: 'REQUEST_INVALID', reason: 'NOT_JSON' });
    for (const reason of ['ok \u202Eko', 'zero\u200Bwidth', '\uFEFFbom', 'lone \uD800', 'bell\u0007']) {
      expect(await problem('POST', '/notes', { body: JSON.stringify({ reason }) }), JSON.stringify(reason)).to.include({ status: 400, code: 'REQUEST_INVALID' });
    }
    const ok = await app.inject({ method: 'POST', url: '/notes', payload: JSON.stringify({ reason: 'Conceic\u0327a\u0303o confirmed' }), headers: { 'content-type': 'application/json' } });
    expect(ok.json()).to.deep.equal({ reason: 'Conceição confirmed' });
  });

  it('parseJsonBody: duplicates are found at any depth, and nothing else changes what JSON.parse gives', () => {
    const refusal = (text: string) => {
      try {
        parseJsonBody(text);
      } catch (e) {
        if (isRegistoError(e, 'REQUEST_INVALID')) return e.details.reason;
        throw e;
      }
      return 'ACCEPTED';
    };
    expect(refusal('{"a":[{"b":1,"c":{"d":1,"d":2}}]}')).to.equal('DUPLICATE_KEY');
    expect(refusal('{"a":{"x":1},"b":{"x":1}}')).to.equal('ACCEPTED');
    expect(refusal(`${'['.repeat(40)}${']'.repeat(40)}`)).to.equal('TOO_DEEP');
    expect(refusal('')).to.equal('EMPTY');
    expect(parseJsonBody('{"a":"\\u00e9","b":[1,2.5,null,true]}')).to.deep.equal({ a: 'é', b: [1, 2.5, null, true] });
  });

  it('an unexpected error is a 500 INTERNAL whose log line holds neither the SQL, its parameters nor the value', async () => {
    lines.length = 0;
    expect(await problem('GET', '/lookup/Maria-da-Conceicao')).to.include({ status: 500, code: 'INTERNAL' });
    const logged = lines.join('');
    expect(logged).to.include('request failed').and.include('22P02');
    expect(logged).to.not.include('Maria').and.not.include('SELECT').and.not.include('invalid input syntax');
  });

  it('every route registered is listed, HEAD twins left out', () => {
    expect(registeredRoutes(app).map((r) => `${r.method} ${r.url}`)).to.deep.equal(['GET /things/:id', 'GET /things', 'POST /notes', 'GET /lookup/:value']);
  });

  it('a RegistoError keeps its own code and details next to the request id', async () => {
    const local = createHttpApp(createLogger('silent'));
    local.get('/boom', async () => {
      throw new RegistoError('FORBIDDEN', 'no', { role: 'auditor' });
    });
    const res = await local.inject({ url: '/boom' });
    expect(res.statusCode).to.equal(403);
    expect(res.json()).to.include({ code: 'FORBIDDEN', role: 'auditor', instance: '/boom' }).and.have.property('requestId');
    await local.close();
  });
});
