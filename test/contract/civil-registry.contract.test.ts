import { expect } from 'chai';
import { SigaHttpConnector, type CivilPerson } from '@registo/external';
import { createPopulation, startSimulators, type RunningSimulators } from '@registo/simulators';
import { civilRegistryContract } from './civil-registry.contract.js';
import { expectExternalError, recordingFetch } from './external-errors.js';

const population = createPopulation({ seed: 11, citizens: 300 });
const people = Array.from({ length: population.citizenCount }, (_, i) => population.citizen(i));
const alive = people.find((c) => c.civilStatus === 'ALIVE')!;
const deceased = people.find((c) => c.civilStatus === 'DECEASED')!;

async function start(): Promise<RunningSimulators> {
  return startSimulators({ sigaPort: 0, immigrationPort: 0, seed: 11, citizens: 300, foreigners: 50, token: 'contract-token' });
}

let contractSims: RunningSimulators | undefined;
civilRegistryContract({
  name: 'SIGA over HTTP (simulator)',
  async open() {
    contractSims = await start();
    return new SigaHttpConnector({ baseUrl: contractSims.sigaUrl, token: contractSims.token, timeoutMs: 5_000 });
  },
  alive: alive as CivilPerson,
  deceasedNumber: deceased.civilRegistryNumber,
  unknownNumber: 'RC-9999999-0',
  async cleanup() {
    await contractSims?.close();
  },
});

describe('SigaHttpConnector failures', () => {
  let sims: RunningSimulators;
  let connector: SigaHttpConnector;
  const input = { civilRegistryNumber: alive.civilRegistryNumber, demographics: { sex: alive.sex } };

  before(async () => {
    sims = await start();
    connector = new SigaHttpConnector({ baseUrl: sims.sigaUrl, token: sims.token, timeoutMs: 300 });
  });
  afterEach(() => sims.sigaFaults.reset());
  after(() => sims.close());

  it('a reply that never comes is EXTERNAL_UNAVAILABLE, given up by the connector’s timeout', async () => {
    sims.sigaFaults.update({ timeoutRate: 1, timeoutDelayMs: null });
    const error = await expectExternalError(connector.verify(input), 'EXTERNAL_UNAVAILABLE');
    // The connector's own 300 ms timeout gave up on the held request.
    expect(error.details).to.include({ system: 'SIGA', retryable: true, reason: 'timeout', timeoutMs: 300 });
  });

  it('a 500 is EXTERNAL_UNAVAILABLE (retryable)', async () => {
    sims.sigaFaults.update({ errorRate: 1 });
    const error = await expectExternalError(connector.person(alive.civilRegistryNumber), 'EXTERNAL_UNAVAILABLE');
    expect(error.details).to.include({ status: 500, retryable: true });
  });

  it('an outage (503) is EXTERNAL_UNAVAILABLE with the Retry-After hint', async () => {
    sims.sigaFaults.update({ outageUntil: new Date(Date.now() + 30_000).toISOString() });
    const error = await expectExternalError(connector.verify(input), 'EXTERNAL_UNAVAILABLE');
    expect(error.details).to.include({ status: 503, retryable: true });
    expect(error.details.retryAfterSeconds).to.be.a('number');
  });

  it('invalid JSON or the wrong shape is EXTERNAL_REPLY_INVALID', async () => {
    sims.sigaFaults.update({ malformedRate: 1, malformedMode: 'invalid-json' });
    await expectExternalError(connector.verify(input), 'EXTERNAL_REPLY_INVALID');
    sims.sigaFaults.update({ malformedMode: 'wrong-shape' });
    await expectExternalError(connector.verify(input), 'EXTERNAL_REPLY_INVALID');
    await expectExternalError(connector.person(alive.civilRegistryNumber), 'EXTERNAL_REPLY_INVALID');
  });

  it('a refused token is EXTERNAL_REJECTED (not retryable)', async () => {
    const wrongToken = new SigaHttpConnector({ baseUrl: sims.sigaUrl, token: 'wrong' });
    const error = await expectExternalError(wrongToken.verify(input), 'EXTERNAL_REJECTED');
    expect(error.details).to.include({ status: 401, retryable: false });
  });

  it('nobody listening is EXTERNAL_UNAVAILABLE', async () => {
    const nowhere = new SigaHttpConnector({ baseUrl: 'http://127.0.0.1:1', token: 'x', timeoutMs: 2_000 });
    const error = await expectExternalError(nowhere.person(alive.civilRegistryNumber), 'EXTERNAL_UNAVAILABLE');
    expect(error.details).to.include({ reason: 'network' });
  });

  it('a failed lookup names the route, never the registry number (errors reach logs and sync failures)', async () => {
    const said = (e: Error & { details: Record<string, unknown> }) => `${e.message} ${JSON.stringify(e.details)}`;
    sims.sigaFaults.update({ errorRate: 1 });
    const failed = await expectExternalError(connector.person(alive.civilRegistryNumber), 'EXTERNAL_UNAVAILABLE');
    expect(failed.details.path).to.equal('/v1/persons/{civilRegistryNumber}');
    sims.sigaFaults.update({ errorRate: 0, malformedRate: 1, malformedMode: 'wrong-shape' });
    const malformed = await expectExternalError(connector.person(alive.civilRegistryNumber), 'EXTERNAL_REPLY_INVALID');
    const nowhere = new SigaHttpConnector({ baseUrl: 'http://127.0.0.1:1', token: 'x', timeoutMs: 2_000 });
    const unreachable = await expectExternalError(nowhere.person(alive.civilRegistryNumber), 'EXTERNAL_UNAVAILABLE');
    for (const e of [failed, malformed, unreachable]) expect(said(e)).not.to.include(alive.civilRegistryNumber);
  });

  it('sends the bearer token, and the Idempotency-Key when given', async () => {
    const recorder = recordingFetch();
    const recorded = new SigaHttpConnector({ baseUrl: sims.sigaUrl, token: sims.token, fetch: recorder.fetch });
    await recorded.verify(input, { idempotencyKey: 'key-42' });
    await recorded.verify(input);
    expect(recorder.headers[0]?.get('authorization')).to.equal(`Bearer ${sims.token}`);
    expect(recorder.headers[0]?.get('idempotency-key')).to.equal('key-42');
    expect(recorder.headers[1]?.has('idempotency-key')).to.equal(false);
  });
});
