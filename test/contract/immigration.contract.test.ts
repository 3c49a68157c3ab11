import { expect } from 'chai';
import { ImmigrationHttpConnector, type ResidencePermit } from '@registo/external';
import { createPopulation, startSimulators, type RunningSimulators } from '@registo/simulators';
import { expectExternalError, recordingFetch } from './external-errors.js';
import { immigrationContract } from './immigration.contract.js';

const population = createPopulation({ seed: 11, foreigners: 50 });
const all = Array.from({ length: population.foreignerCount }, (_, i) => population.foreigner(i));
const valid = all.find((f) => f.status === 'VALID')!;
const notValid = all.find((f) => f.status !== 'VALID')!;

async function start(): Promise<RunningSimulators> {
  return startSimulators({ sigaPort: 0, immigrationPort: 0, seed: 11, citizens: 50, foreigners: 50, token: 'contract-token' });
}

let contractSims: RunningSimulators | undefined;
immigrationContract({
  name: 'immigration over HTTP (simulator)',
  async open() {
    contractSims = await start();
    return new ImmigrationHttpConnector({ baseUrl: contractSims.immigrationUrl, token: contractSims.token });
  },
  permits: [valid, notValid] as ResidencePermit[],
  unknownNumber: 'AR-999999-1',
  async cleanup() {
    await contractSims?.close();
  },
});

describe('ImmigrationHttpConnector failures', () => {
  let sims: RunningSimulators;
  let connector: ImmigrationHttpConnector;
  const input = { permitNumber: valid.permitNumber, demographics: { surname: valid.surname } };

  before(async () => {
    sims = await start();
    connector = new ImmigrationHttpConnector({ baseUrl: sims.immigrationUrl, token: sims.token, timeoutMs: 300 });
  });
  afterEach(() => sims.immigrationFaults.reset());
  after(() => sims.close());

  it('a reply that never comes is EXTERNAL_UNAVAILABLE, given up by the connector’s timeout', async () => {
    sims.immigrationFaults.update({ timeoutRate: 1 });
    const error = await expectExternalError(connector.permit(valid.permitNumber), 'EXTERNAL_UNAVAILABLE');
    // The connector's own 300 ms timeout gave up on the held request.
    expect(error.details).to.include({ system: 'IMMIGRATION', reason: 'timeout', retryable: true, timeoutMs: 300 });
  });

  it('a late reply beyond the timeout is EXTERNAL_UNAVAILABLE too', async () => {
    sims.immigrationFaults.update({ latencyMs: 1_000 });
    await expectExternalError(connector.verify(input), 'EXTERNAL_UNAVAILABLE');
  });

  it('a 500 is EXTERNAL_UNAVAILABLE', async () => {
    sims.immigrationFaults.update({ errorRate: 1 });
    await expectExternalError(connector.verify(input), 'EXTERNAL_UNAVAILABLE');
  });

  it('an outage window (503) is EXTERNAL_UNAVAILABLE', async () => {
    const now = Date.now();
    sims.immigrationFaults.update({ outages: [{ from: new Date(now - 1_000).toISOString(), until: new Date(now + 30_000).toISOString() }] });
    const error = await expectExternalError(connector.permit(valid.permitNumber), 'EXTERNAL_UNAVAILABLE');
    expect(error.details).to.include({ status: 503 });
  });

  it('invalid JSON or the wrong shape is EXTERNAL_REPLY_INVALID', async () => {
    sims.immigrationFaults.update({ malformedRate: 1, malformedMode: 'invalid-json' });
    await expectExternalError(connector.permit(valid.permitNumber), 'EXTERNAL_REPLY_INVALID');
    sims.immigrationFaults.update({ malformedMode: 'wrong-shape' });
    await expectExternalError(connector.verify(input), 'EXTERNAL_REPLY_INVALID');
  });

  it('a refused token is EXTERNAL_REJECTED', async () => {
    const wrongToken = new ImmigrationHttpConnector({ baseUrl: sims.immigrationUrl, token: 'wrong' });
    await expectExternalError(wrongToken.permit(valid.permitNumber), 'EXTERNAL_REJECTED');
  });

  it('sends the Idempotency-Key when given', async () => {
    const recorder = recordingFetch();
    const recorded = new ImmigrationHttpConnector({ baseUrl: sims.immigrationUrl, token: sims.token, fetch: recorder.fetch });
    await recorded.verify(input, { idempotencyKey: 'permit-check-7' });
    expect(recorder.headers[0]?.get('idempotency-key')).to.equal('permit-check-7');
  });

  it('a failed lookup names the route, never the permit number (errors reach logs and sync failures)', async () => {
    sims.immigrationFaults.update({ errorRate: 1 });
    const failed = await expectExternalError(connector.permit(valid.permitNumber), 'EXTERNAL_UNAVAILABLE');
    expect(failed.details.path).to.equal('/v1/permits/{permitNumber}');
    sims.immigrationFaults.update({ errorRate: 0, malformedRate: 1, malformedMode: 'wrong-shape' });
    const malformed = await expectExternalError(connector.permit(valid.permitNumber), 'EXTERNAL_REPLY_INVALID');
    for (const e of [failed, malformed]) expect(`${e.message} ${JSON.stringify(e.details)}`).not.to.include(valid.permitNumber);
  });
});
