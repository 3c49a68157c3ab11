import { networkInterfaces } from 'node:os';
import { expect } from 'chai';
import type { FastifyInstance } from 'fastify';
import { createLogger, isLoopbackAddress } from '@registo/base';
import { DEV_API_TOKENS, loadConfig } from '@registo/config';
import { ApiTokens, RefusalRecorder, createHttpApp, tokenAllowedFrom } from '@registo/gateways';

/** An IPv4 address of this machine that is not loopback, if it has one. */
function nonLoopbackAddress(): string | undefined {
  return Object.values(networkInterfaces())
    .flat()
    .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
}

describe('API authentication: development tokens stay on this machine; refusals are logged and counted', function () {
  this.timeout(60_000);
  const logged: Array<{ fields: Record<string, unknown>; message: string }> = [];
  const refusals = new RefusalRecorder({ warn: (fields, message) => void logged.push({ fields, message }) });
  // The embedded platform's development tokens, plus one an operator configured.
  const tokens = ApiTokens.parse(`${DEV_API_TOKENS},configured-secret-7f3a:ops-2:operator`, refusals);
  let app: FastifyInstance;
  let port: number;

  before(async () => {
    app = createHttpApp(createLogger('silent'));
    app.get('/v1/probe', async (request) => tokens.authorize(request, ['operator']));
    // Every address, so that the same server can be reached over loopback and over the LAN address.
    await app.listen({ port: 0, host: '0.0.0.0' });
    port = (app.server.address() as { port: number }).port;
  });
  after(() => app?.close());
  beforeEach(() => void (logged.length = 0));

  const probe = async (host: string, token?: string) => {
    const res = await fetch(`http://${host}:${port}/v1/probe`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    return { status: res.status, body: (await res.json()) as Record<string, unknown>, type: res.headers.get('content-type') ?? '' };
  };

  it('accepts a development token over loopback, refuses it over a non-loopback address, accepts a configured token from anywhere', async function () {
    const lan = nonLoopbackAddress();
    if (!lan) this.skip();
    expect((await probe('127.0.0.1', 'dev-operator')).body).to.deep.equal({ id: 'operator-1', role: 'operator' });
    const remote = await probe(lan!, 'dev-operator');
    expect(remote.status).to.equal(401);
    expect(remote.type).to.match(/^application\/problem\+json/);
    expect(remote.body.code).to.equal('DEVELOPMENT_TOKEN_REMOTE');
    expect((await probe(lan!, 'configured-secret-7f3a')).body).to.deep.equal({ id: 'ops-2', role: 'operator' });
    expect(logged.map((l) => (l.fields.refusal as { reason: string }).reason)).to.deep.equal(['DEVELOPMENT_TOKEN_NOT_LOOPBACK']);
  });

  it('decides by the peer address: loopback v4, v6 and v4-mapped pass; anything else, or no address, does not', () => {
    for (const address of ['127.0.0.1', '127.3.2.1', '::1', '::ffff:127.0.0.1']) expect(isLoopbackAddress(address), address).to.equal(true);
    for (const address of ['192.0.2.2', '10.0.0.1', '::ffff:10.0.0.1', 'fe80::1', '::', '0.0.0.0', '', undefined, 'localhost']) {
      expect(isLoopbackAddress(address), String(address)).to.equal(false);
    }
    expect(tokenAllowedFrom('dev-officer', '192.0.2.2')).to.equal(false);
    expect(tokenAllowedFrom('dev-officer', '::1')).to.equal(true);
    expect(tokenAllowedFrom('configured-secret-7f3a', '192.0.2.2')).to.equal(true);
  });

  it('logs and counts every refused authentication and authorization, with who, route and reason but never the token', async () => {
    const before = refusals.snapshot();
    expect((await probe('127.0.0.1')).status).to.equal(401);
    expect((await probe('127.0.0.1', 'guessed-token-123')).status).to.equal(401);
    const forbidden = await probe('127.0.0.1', 'dev-auditor');
    expect(forbidden.status).to.equal(403);
    expect(forbidden.body.code).to.equal('FORBIDDEN');
    const after = refusals.snapshot();
    expect(after.total - before.total).to.equal(3);
    const delta = (key: string) => (after.byReason[key] ?? 0) - (before.byReason[key] ?? 0);
    expect([delta('UNAUTHENTICATED:NO_BEARER_TOKEN'), delta('UNAUTHENTICATED:UNKNOWN_TOKEN'), delta('FORBIDDEN:ROLE_NOT_ALLOWED')]).to.deep.equal([1, 1, 1]);
    expect(logged.map((l) => l.message)).to.deep.equal(['request refused', 'request refused', 'request refused']);
    const entries = logged.map((l) => l.fields.refusal as Record<string, unknown>);
    expect(entries.map((e) => e.route)).to.deep.equal(['GET /v1/probe', 'GET /v1/probe', 'GET /v1/probe']);
    expect(entries.map((e) => e.actor)).to.deep.equal([null, null, { id: 'auditor-1', role: 'auditor' }]);
    expect(logged.every((l) => typeof l.fields.reqId === 'string')).to.equal(true);
    const text = JSON.stringify(logged);
    for (const secret of ['guessed-token-123', 'dev-auditor', 'Bearer']) expect(text).to.not.include(secret);
  });

  it('embedded mode listens on 127.0.0.1 unless HOST says otherwise; a platform on PostgreSQL with tokens of its own listens on 0.0.0.0', () => {
    expect(loadConfig({}).http.host).to.equal('127.0.0.1');
    expect(loadConfig({ HOST: '0.0.0.0' }).http.host).to.equal('0.0.0.0');
    const pg = 'postgres://registo@127.0.0.1:5432/registo';
    expect(loadConfig({ DATABASE_URL: pg, REGISTO_API_TOKENS: 'secret-1:ops-1:operator' }).http.host).to.equal('0.0.0.0');
  });

  it('on PostgreSQL without tokens of its own: loopback, the development tokens and the simulators (the README recipe); told to listen elsewhere, neither', () => {
    const pg = 'postgres://registo@127.0.0.1:5432/registo';
    const recipe = loadConfig({ DATABASE_URL: pg });
    expect(recipe.http.host).to.equal('127.0.0.1');
    expect(recipe.apiTokens).to.equal(DEV_API_TOKENS);
    expect(recipe.simulators).to.not.equal(null);
    expect(recipe.roles).to.include.members(['process', 'sync']);
    const exposed = loadConfig({ DATABASE_URL: pg, HOST: '0.0.0.0' });
    expect(exposed.apiTokens).to.equal('');
    expect(exposed.simulators).to.equal(null);
    expect(exposed.roles).to.not.include('process');
    // Real systems given: they are used, not simulated; tokens of its own: no development tokens.
    const real = loadConfig({ DATABASE_URL: pg, HOST: '127.0.0.1', REGISTO_SIGA_URL: 'http://siga.test', REGISTO_IMMIGRATION_URL: 'http://imm.test', REGISTO_ABIS_URL: 'http://abis.test', REGISTO_EXTERNAL_TOKEN: 't' });
    expect(real.simulators).to.equal(null);
    expect(real.external?.sigaUrl).to.equal('http://siga.test');
    expect(loadConfig({ DATABASE_URL: pg, HOST: '127.0.0.1', REGISTO_API_TOKENS: 'secret-1:ops-1:operator' }).apiTokens).to.equal('secret-1:ops-1:operator');
  });
});
