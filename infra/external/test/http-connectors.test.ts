import { expect } from 'chai';
import { RegistoError } from '@registo/schemas';
import { ImmigrationHttpConnector, SigaHttpConnector } from '../src/index.js';

/** A fetch that answers every call with `status` and `body`, without any server. */
function answering(status: number, body: string): typeof fetch {
  return async () => new Response(body, { status, headers: { 'content-type': 'application/json' } });
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).to.be.instanceOf(RegistoError);
    return (e as RegistoError).code;
  }
  return 'no error';
}

const options = { baseUrl: 'http://siga.invalid/', token: 't' };
const input = { civilRegistryNumber: 'RC-0000001-9', demographics: { sex: 'M' as const } };

describe('external HTTP connectors (no server)', () => {
  it('maps statuses to typed errors', async () => {
    const cases: [number, string][] = [
      [500, 'EXTERNAL_UNAVAILABLE'],
      [502, 'EXTERNAL_UNAVAILABLE'],
      [503, 'EXTERNAL_UNAVAILABLE'],
      [400, 'EXTERNAL_REJECTED'],
      [403, 'EXTERNAL_REJECTED'],
      [302, 'EXTERNAL_REPLY_INVALID'],
    ];
    for (const [status, code] of cases) {
      expect(await codeOf(new SigaHttpConnector({ ...options, fetch: answering(status, '{}') }).verify(input)), String(status)).to.equal(code);
    }
  });

  it('treats a self-contradicting or incomplete reply as invalid', async () => {
    const contradicting = new SigaHttpConnector({ ...options, fetch: answering(200, '{"match":true,"discrepancies":["sex"]}') });
    expect(await codeOf(contradicting.verify(input))).to.equal('EXTERNAL_REPLY_INVALID');
    const noStatus = new ImmigrationHttpConnector({ ...options, fetch: answering(200, '{"match":true,"discrepancies":[]}') });
    expect(await codeOf(noStatus.verify({ permitNumber: 'AR-000001-9', demographics: {} }))).to.equal('EXTERNAL_REPLY_INVALID');
    const partialPerson = new SigaHttpConnector({ ...options, fetch: answering(200, '{"civilRegistryNumber":"RC-0000001-9"}') });
    expect(await codeOf(partialPerson.person('RC-0000001-9'))).to.equal('EXTERNAL_REPLY_INVALID');
  });

  it('a verification naming anything but compared fields is invalid: discrepancies are recorded in clear', async () => {
    const siga = (body: unknown) => new SigaHttpConnector({ ...options, fetch: answering(200, JSON.stringify(body)) });
    const compared = { civilRegistryNumber: 'RC-0000001-9', demographics: { sex: 'M' as const, dateOfBirth: '1943-06-26' } };
    const leaky = await siga({ match: false, discrepancies: ['dateOfBirth (1943-06-26 here)'] })
      .verify(compared)
      .then(() => null, (e: unknown) => e as RegistoError);
    expect(leaky?.code).to.equal('EXTERNAL_REPLY_INVALID');
    expect(`${leaky?.message} ${JSON.stringify(leaky?.details)}`).not.to.include('1943');
    expect(await codeOf(siga({ match: false, discrepancies: ['surname'] }).verify(compared)), 'a field not sent').to.equal('EXTERNAL_REPLY_INVALID');
    expect(await siga({ match: false, discrepancies: ['dateOfBirth', 'civilStatus'] }).verify(compared)).to.deep.equal({ outcome: 'MISMATCH', discrepancies: ['dateOfBirth', 'civilStatus'] });
    const immigration = new ImmigrationHttpConnector({ ...options, fetch: answering(200, '{"match":false,"discrepancies":["surname: Trovoada"],"permitStatus":"VALID"}') });
    expect(await codeOf(immigration.verify({ permitNumber: 'AR-000001-9', demographics: { surname: 'Trovoada' } }))).to.equal('EXTERNAL_REPLY_INVALID');
  });

  it('rethrows the caller’s own cancellation untouched', async () => {
    const hanging: typeof fetch = (_url, init) =>
      new Promise((_resolve, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal?.reason)));
    const controller = new AbortController();
    const call = new SigaHttpConnector({ ...options, fetch: hanging }).person('RC-0000001-9', { signal: controller.signal });
    controller.abort(new Error('caller gave up'));
    const error = await call.then(() => undefined, (e: unknown) => e as Error);
    expect(error?.message).to.equal('caller gave up');
  });

  it('times out a call per the per-call timeout', async () => {
    const hanging: typeof fetch = (_url, init) =>
      new Promise((_resolve, reject) => init?.signal?.addEventListener('abort', () => reject(init.signal?.reason)));
    const call = new SigaHttpConnector({ ...options, fetch: hanging, timeoutMs: 10_000 }).person('x', { timeoutMs: 50 });
    const error = await call.then(() => undefined, (e: unknown) => e as RegistoError);
    expect(error?.code).to.equal('EXTERNAL_UNAVAILABLE');
    // The call's own timeout gave up, not the connector's ten seconds.
    expect(error?.details).to.include({ reason: 'timeout', timeoutMs: 50 });
  });
});
