import { expect } from 'chai';
import { AbisHttpConnector, type BiometricModality, type BiometricSample } from '@registo/external';
import { startSimulators, syntheticTemplate, type RunningSimulators } from '@registo/simulators';
import { biometricIdentificationContract } from './abis.contract.js';
import { expectExternalError, recordingFetch } from './external-errors.js';

const POSITIONS: readonly (readonly [BiometricModality, string])[] = [
  ['FINGER', 'RIGHT_THUMB'],
  ['FINGER', 'LEFT_THUMB'],
  ['FACE', 'FRONTAL'],
  ['IRIS', 'LEFT'],
];

function capture(personKey: string, captureSeed: number): BiometricSample[] {
  return POSITIONS.map(([modality, position]) => ({
    modality,
    position,
    template: syntheticTemplate(personKey, modality, position, captureSeed),
  }));
}

async function start(): Promise<RunningSimulators> {
  return startSimulators({ sigaPort: 0, immigrationPort: 0, abisPort: 0, citizens: 10, foreigners: 10, token: 'contract-token' });
}

let contractSims: RunningSimulators | undefined;
biometricIdentificationContract({
  name: 'ABIS over HTTP (simulator)',
  async open() {
    contractSims = await start();
    return new AbisHttpConnector({ baseUrl: contractSims.abisUrl, token: contractSims.token, timeoutMs: 5_000 });
  },
  capture,
  async cleanup() {
    await contractSims?.close();
  },
});

/** A fetch that answers every call with `body`, for replies the simulator never gives. */
function answering(body: unknown): typeof fetch {
  return async () => new Response(JSON.stringify(body), { status: 200, headers: { 'content-type': 'application/json' } });
}

describe('AbisHttpConnector failures', () => {
  let sims: RunningSimulators;
  let connector: AbisHttpConnector;
  let n = 0;
  const input = () => ({ referenceId: `failure-${++n}`, biometrics: capture(`person-${n}`, 1) });

  before(async () => {
    sims = await start();
    connector = new AbisHttpConnector({ baseUrl: sims.abisUrl, token: sims.token, timeoutMs: 300 });
  });
  afterEach(() => sims.abisFaults.reset());
  after(() => sims.close());

  it('a reply that never comes is EXTERNAL_UNAVAILABLE, given up by the connector’s timeout', async () => {
    sims.abisFaults.update({ timeoutRate: 1, timeoutDelayMs: null });
    const error = await expectExternalError(connector.identify(input()), 'EXTERNAL_UNAVAILABLE');
    // The connector's own 300 ms timeout gave up on the held request.
    expect(error.details).to.include({ system: 'ABIS', retryable: true, reason: 'timeout', timeoutMs: 300 });
  });

  it('a 500 is EXTERNAL_UNAVAILABLE (retryable), for identify and remove', async () => {
    sims.abisFaults.update({ errorRate: 1 });
    const error = await expectExternalError(connector.identify(input()), 'EXTERNAL_UNAVAILABLE');
    expect(error.details).to.include({ status: 500, retryable: true });
    await expectExternalError(connector.remove('anyone'), 'EXTERNAL_UNAVAILABLE');
  });

  it('an outage (503) is EXTERNAL_UNAVAILABLE with the Retry-After hint', async () => {
    sims.abisFaults.update({ outageUntil: new Date(Date.now() + 30_000).toISOString() });
    const error = await expectExternalError(connector.identify(input()), 'EXTERNAL_UNAVAILABLE');
    expect(error.details).to.include({ status: 503, retryable: true });
    expect(error.details.retryAfterSeconds).to.be.a('number');
  });

  it('invalid JSON or the wrong shape is EXTERNAL_REPLY_INVALID; retrying afterwards gets the answer that was lost', async () => {
    const first = { referenceId: 'lost-1', biometrics: capture('lost', 1) };
    const second = { referenceId: 'lost-2', biometrics: capture('lost', 2) };
    await connector.identify(first);
    sims.abisFaults.update({ malformedRate: 1, malformedMode: 'invalid-json' });
    await expectExternalError(connector.identify(second), 'EXTERNAL_REPLY_INVALID');
    sims.abisFaults.update({ malformedMode: 'wrong-shape' });
    await expectExternalError(connector.identify(second), 'EXTERNAL_REPLY_INVALID');
    sims.abisFaults.reset();
    const retried = await connector.identify(second);
    expect(retried.matches.map((m) => m.referenceId)).to.deep.equal(['lost-1']);
  });

  it('a reply about another referenceId, or with a score outside [0, 1], is EXTERNAL_REPLY_INVALID', async () => {
    const baseUrl = sims.abisUrl;
    const other = new AbisHttpConnector({ baseUrl, token: 't', fetch: answering({ referenceId: 'someone-else', matches: [] }) });
    await expectExternalError(other.identify(input()), 'EXTERNAL_REPLY_INVALID');
    const request = input();
    const bad = { referenceId: request.referenceId, matches: [{ referenceId: 'x', score: 1.5 }] };
    const outOfRange = new AbisHttpConnector({ baseUrl, token: 't', fetch: answering(bad) });
    const error = await expectExternalError(outOfRange.identify(request), 'EXTERNAL_REPLY_INVALID');
    expect(error.details.problems).to.deep.equal(['matches[0].score must be a number in [0, 1]']);
  });

  it('a refused token or a malformed template is EXTERNAL_REJECTED (not retryable)', async () => {
    const wrongToken = new AbisHttpConnector({ baseUrl: sims.abisUrl, token: 'wrong' });
    const error = await expectExternalError(wrongToken.identify(input()), 'EXTERNAL_REJECTED');
    expect(error.details).to.include({ status: 401, retryable: false });
    await expectExternalError(wrongToken.remove('anyone'), 'EXTERNAL_REJECTED');
    const garbage = { referenceId: 'garbage', biometrics: [{ modality: 'FACE' as const, position: 'FRONTAL', template: 'not base64' }] };
    const refused = await expectExternalError(connector.identify(garbage), 'EXTERNAL_REJECTED');
    expect(refused.details).to.include({ status: 400 });
  });

  it('verify obeys the fault knobs: 500, outage and timeout are EXTERNAL_UNAVAILABLE, a garbled reply EXTERNAL_REPLY_INVALID', async () => {
    const enrolled = input();
    await connector.identify(enrolled);
    const probe = { referenceIds: [enrolled.referenceId], biometrics: capture(`person-${n}`, 2) };
    sims.abisFaults.update({ errorRate: 1 });
    expect((await expectExternalError(connector.verify(probe), 'EXTERNAL_UNAVAILABLE')).details).to.include({ status: 500, retryable: true });
    sims.abisFaults.reset();
    sims.abisFaults.update({ outageUntil: new Date(Date.now() + 30_000).toISOString() });
    expect((await expectExternalError(connector.verify(probe), 'EXTERNAL_UNAVAILABLE')).details).to.include({ status: 503 });
    sims.abisFaults.reset();
    sims.abisFaults.update({ timeoutRate: 1, timeoutDelayMs: null });
    expect((await expectExternalError(connector.verify(probe), 'EXTERNAL_UNAVAILABLE')).details).to.include({ reason: 'timeout' });
    sims.abisFaults.reset();
    for (const malformedMode of ['invalid-json', 'wrong-shape'] as const) {
      sims.abisFaults.update({ malformedRate: 1, malformedMode });
      await expectExternalError(connector.verify(probe), 'EXTERNAL_REPLY_INVALID');
    }
    sims.abisFaults.reset();
    expect(await connector.verify(probe)).to.include({ outcome: 'MATCH', referenceId: enrolled.referenceId });
  });

  it('a verification reply about a reference not asked about, or without a verdict, is EXTERNAL_REPLY_INVALID', async () => {
    const probe = { referenceIds: ['asked'], biometrics: capture('someone', 1) };
    const baseUrl = sims.abisUrl;
    const other = new AbisHttpConnector({ baseUrl, token: 't', fetch: answering({ referenceId: 'not-asked', match: true, score: 0.99 }) });
    await expectExternalError(other.verify(probe), 'EXTERNAL_REPLY_INVALID');
    const noVerdict = new AbisHttpConnector({ baseUrl, token: 't', fetch: answering({ referenceId: 'asked', score: 0.99 }) });
    const error = await expectExternalError(noVerdict.verify(probe), 'EXTERNAL_REPLY_INVALID');
    expect(error.details.problems).to.deep.equal(['match must be a boolean']);
  });

  it('sends only modality, position and template of each sample', async () => {
    const request = input();
    const withExtras = request.biometrics.map((sample) => ({ ...sample, format: 'SYNTHETIC', quality: 80 }));
    expect(await connector.identify({ referenceId: request.referenceId, biometrics: withExtras })).to.deep.equal({ matches: [] });
  });

  it('nobody listening is EXTERNAL_UNAVAILABLE', async () => {
    const nowhere = new AbisHttpConnector({ baseUrl: 'http://127.0.0.1:1', token: 'x', timeoutMs: 2_000 });
    const error = await expectExternalError(nowhere.identify(input()), 'EXTERNAL_UNAVAILABLE');
    expect(error.details).to.include({ reason: 'network' });
  });

  it('sends the bearer token, and the Idempotency-Key when given', async () => {
    const recorder = recordingFetch();
    const recorded = new AbisHttpConnector({ baseUrl: sims.abisUrl, token: sims.token, fetch: recorder.fetch });
    await recorded.identify(input(), { idempotencyKey: 'key-42' });
    await recorded.remove('someone/with a slash');
    expect(recorder.headers[0]?.get('authorization')).to.equal(`Bearer ${sims.token}`);
    expect(recorder.headers[0]?.get('idempotency-key')).to.equal('key-42');
    expect(recorder.headers[1]?.has('idempotency-key')).to.equal(false);
  });
});
