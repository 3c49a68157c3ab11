import { expect } from 'chai';
import { FaultInjector } from '../src/faults.js';
import type { RunningSimulators } from '../src/main.js';
import { civilRegistryNumber } from '../src/population.js';
import { ADMIN_TOKEN, TOKEN, asAdmin, authorized, getJson, setFaults, startForTest } from './helpers.js';

/**
 * The order in which `held` (sent first) and a request sent after it settle: a fault that
 * holds an answer shows as the later request answering first.
 */
async function settleOrder(held: Promise<unknown>, later: () => Promise<unknown>): Promise<string[]> {
  const order: string[] = [];
  const first = held.then(() => order.push('held'), () => order.push('held'));
  await later().then(() => order.push('later'));
  await first;
  return order;
}

/** The SIGA request counts once the one request made has been counted (after its response, or once abandoned). */
async function countedOnce(sims: RunningSimulators): Promise<unknown> {
  for (let polls = 0; sims.sigaFaults.stats.total === 0; polls++) {
    if (polls > 200) throw new Error('the request was never counted');
    await new Promise((r) => setTimeout(r, 50));
  }
  return sims.sigaFaults.stats.byRoute;
}

describe('fault knobs', () => {
  let sims: RunningSimulators;
  let personUrl: string;

  before(async () => {
    sims = await startForTest();
    personUrl = `${sims.sigaUrl}/v1/persons/${civilRegistryNumber(0)}`;
  });
  afterEach(async () => {
    await fetch(`${sims.sigaUrl}/_admin/faults`, { method: 'DELETE', headers: asAdmin() });
    await fetch(`${sims.sigaUrl}/_admin/stats`, { method: 'DELETE', headers: asAdmin() });
  });
  after(() => sims.close());

  it('answers /_admin only to the admin token: not without one, not to the service token', async () => {
    for (const path of ['/_admin/faults', '/_admin/stats', '/_admin/sync', '/_admin/sync/received']) {
      expect((await fetch(`${sims.sigaUrl}${path}`)).status, path).to.equal(401);
      expect((await fetch(`${sims.sigaUrl}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } })).status, path).to.equal(401);
      expect((await fetch(`${sims.sigaUrl}${path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).status, path).to.equal(200);
    }
    const refused = await fetch(`${sims.sigaUrl}/_admin/faults`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ errorRate: 1 }) });
    expect(refused.status).to.equal(401);
    expect(sims.sigaFaults.settings.errorRate).to.equal(0);
    // The admin token is not a service-account token either.
    expect((await getJson(`${sims.sigaUrl}/v1/persons/${civilRegistryNumber(0)}`, asAdmin())).status).to.equal(401);
  });

  it('reads and changes the knobs over HTTP, and rejects unknown or out-of-range ones', async () => {
    const put = await setFaults(sims.sigaUrl, { latencyMs: 5, errorRate: 0.25 });
    expect(put.status).to.equal(200);
    const settings = (await getJson(`${sims.sigaUrl}/_admin/faults`, asAdmin())).body as Record<string, unknown>;
    expect(settings).to.include({ latencyMs: 5, errorRate: 0.25, timeoutRate: 0 });
    expect((await setFaults(sims.sigaUrl, { errorRate: 2 })).status).to.equal(400);
    expect((await setFaults(sims.sigaUrl, { errrorRate: 0.1 })).status).to.equal(400);
    expect((await setFaults(sims.sigaUrl, { outages: [{ from: 'soon' }] })).status).to.equal(400);
  });

  it('latencyMs holds every answer for that much plus a jitter draw: an /_admin call made later answers first', async () => {
    const decided = new FaultInjector({ latencyMs: 150, jitterMs: 50 });
    for (let i = 0; i < 20; i++) expect(decided.decide().delayMs).to.be.at.least(150).and.below(200);
    await setFaults(sims.sigaUrl, { latencyMs: 400, jitterMs: 50 });
    const held = getJson(personUrl);
    expect(await settleOrder(held, () => getJson(`${sims.sigaUrl}/_admin/faults`, asAdmin()))).to.deep.equal(['later', 'held']);
    expect((await held).status).to.equal(200);
  });

  it('errorRate 1 answers every request 500', async () => {
    await setFaults(sims.sigaUrl, { errorRate: 1 });
    for (let i = 0; i < 5; i++) expect((await getJson(personUrl)).status).to.equal(500);
  });

  it('timeoutRate 1 with no delay never answers', async () => {
    await setFaults(sims.sigaUrl, { timeoutRate: 1, timeoutDelayMs: null });
    const error = await fetch(personUrl, { headers: authorized(), signal: AbortSignal.timeout(300) }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    // The client gave up: no answer (not even an error status) came before its timeout.
    expect(error?.name).to.equal('TimeoutError');
    expect(await countedOnce(sims)).to.deep.equal({ 'GET /v1/persons/:civilRegistryNumber': { timeout: 1 } });
  });

  it('timeoutRate 1 with a delay answers late: after an /_admin call made later, and counted as a timeout', async () => {
    await setFaults(sims.sigaUrl, { timeoutRate: 1, timeoutDelayMs: 400 });
    const held = getJson(personUrl);
    expect(await settleOrder(held, () => getJson(`${sims.sigaUrl}/_admin/faults`, asAdmin()))).to.deep.equal(['later', 'held']);
    expect((await held).status).to.equal(200);
    expect(await countedOnce(sims)).to.deep.equal({ 'GET /v1/persons/:civilRegistryNumber': { timeout: 1 } });
  });

  it('malformedRate 1 sends invalid JSON or the wrong shape', async () => {
    await setFaults(sims.sigaUrl, { malformedRate: 1, malformedMode: 'invalid-json' });
    const invalid = await fetch(personUrl, { headers: authorized() });
    expect(invalid.status).to.equal(200);
    const text = await invalid.text();
    expect(() => JSON.parse(text)).to.throw(SyntaxError);

    await setFaults(sims.sigaUrl, { malformedMode: 'wrong-shape' });
    const wrong = await getJson(personUrl);
    expect(wrong.status).to.equal(200);
    expect(wrong.body).not.to.have.property('civilRegistryNumber');
  });

  it('an outage window or outageUntil answers 503 with Retry-After, and ends on time', async () => {
    const now = Date.now();
    await setFaults(sims.sigaUrl, { outages: [{ from: new Date(now - 1000).toISOString(), until: new Date(now + 60_000).toISOString() }] });
    const during = await fetch(personUrl, { headers: authorized() });
    expect(during.status).to.equal(503);
    expect(Number(during.headers.get('retry-after'))).to.be.within(1, 61);

    await setFaults(sims.sigaUrl, { outages: [{ from: new Date(now + 60_000).toISOString(), until: new Date(now + 120_000).toISOString() }] });
    expect((await getJson(personUrl)).status).to.equal(200);

    await setFaults(sims.sigaUrl, { outages: [], outageUntil: new Date(Date.now() + 300).toISOString() });
    expect((await getJson(personUrl)).status).to.equal(503);
    await new Promise((r) => setTimeout(r, 350));
    expect((await getJson(personUrl)).status).to.equal(200);
  });

  it('counts requests by route and outcome', async () => {
    await getJson(personUrl);
    await getJson(personUrl, {});
    await getJson(`${sims.sigaUrl}/v1/persons/${civilRegistryNumber(9_999)}`);
    await setFaults(sims.sigaUrl, { errorRate: 1 });
    await getJson(personUrl);
    const stats = (await getJson(`${sims.sigaUrl}/_admin/stats`, asAdmin())).body;
    expect(stats).to.deep.equal({
      total: 4,
      byRoute: { 'GET /v1/persons/:civilRegistryNumber': { ok: 1, unauthorized: 1, not_found: 1, error: 1 } },
    });
  });

  it('draws the same faults for the same seed', async () => {
    const pattern = async (): Promise<number[]> => {
      await setFaults(sims.sigaUrl, { seed: 99, errorRate: 0.5 });
      const statuses: number[] = [];
      for (let i = 0; i < 12; i++) statuses.push((await getJson(personUrl)).status);
      return statuses;
    };
    const first = await pattern();
    expect(await pattern()).to.deep.equal(first);
    expect(first).to.include(500).and.to.include(200);
  });

  it('closes promptly while requests are being held', async () => {
    const held = await startForTest({ sigaFaults: { timeoutRate: 1 } });
    const pending = fetch(`${held.sigaUrl}/v1/persons/${civilRegistryNumber(0)}`, { headers: authorized() }).catch((e: unknown) => e);
    await new Promise((r) => setTimeout(r, 100));
    // The held request has no end of its own (no timeoutDelayMs): close resolving at all shows
    // it let go of it, and the client sees the connection end rather than an answer.
    await held.close();
    expect(await pending).to.be.instanceOf(Error);
  });

  it('rejects invalid initial settings', () => {
    expect(() => new FaultInjector({ errorRate: -1 })).to.throw(/errorRate/);
  });
});
