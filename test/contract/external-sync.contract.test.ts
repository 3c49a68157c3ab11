import { expect } from 'chai';
import { type ExternalSyncPort, ResilientSyncPort, SyncHttpConnector } from '@registo/external';
import type { RegistoError } from '@registo/schemas';
import { type RunningSimulators, startSimulators } from '@registo/simulators';
import { externalSyncContract } from './external-sync.contract.js';

let sims: RunningSimulators | undefined;
const start = async () => (sims = await startSimulators({ sigaPort: 0, immigrationPort: 0, token: 'contract-token' }));

externalSyncContract({
  name: 'SIGA over HTTP (simulator)',
  async open() {
    const s = await start();
    return {
      port: new SyncHttpConnector('SIGA', { baseUrl: s.sigaUrl, token: s.token }),
      validUpdate: (uin) => ({ uin, civilRegistryNumber: `RC-${uin}`, status: 'ENROLLED', givenNames: 'Ana', surname: 'Lima', dateOfBirth: '1990-01-01', sex: 'F' }),
      announce: async (type, uin) => void s.sigaLedger.announce(type, uin, {}),
      changeTypes: ['DECEASED', 'NAME_CORRECTED'],
    };
  },
  cleanup: async () => sims?.close(),
});

externalSyncContract({
  name: 'Immigration over HTTP (simulator)',
  async open() {
    const s = await start();
    return {
      port: new SyncHttpConnector('IMMIGRATION', { baseUrl: s.immigrationUrl, token: s.token }),
      validUpdate: (uin) => ({ uin, permitNumber: `AR-${uin}`, operation: 'IDENTITY_LINKED' }),
      announce: async (type, uin) => void s.immigrationLedger.announce(type, uin, {}),
      changeTypes: ['PERMIT_EXPIRED', 'PERMIT_REVOKED'],
    };
  },
  cleanup: async () => sims?.close(),
});

externalSyncContract({
  name: 'SIGA through the rate limit and circuit breaker',
  async open() {
    const s = await start();
    return {
      port: new ResilientSyncPort(new SyncHttpConnector('SIGA', { baseUrl: s.sigaUrl, token: s.token }), { ratePerSecond: 50 }),
      validUpdate: (uin) => ({ uin, civilRegistryNumber: `RC-${uin}`, status: 'DEACTIVATED' }),
      announce: async (type, uin) => void s.sigaLedger.announce(type, uin, {}),
      changeTypes: ['DECEASED'],
    };
  },
  cleanup: async () => sims?.close(),
});

describe('sync connector failures', () => {
  let s: RunningSimulators;
  before(async () => (s = await startSimulators({ sigaPort: 0, immigrationPort: 0 })));
  after(() => s.close());
  afterEach(() => s.sigaFaults.reset());
  const body = (uin: string) => ({ uin, civilRegistryNumber: `RC-${uin}`, status: 'DECEASED' });
  const failure = (p: Promise<unknown>) => p.then(() => null, (e: unknown) => e as RegistoError);

  it('an outage is EXTERNAL_UNAVAILABLE; after enough of them the circuit opens and calls fail at once without reaching SIGA', async () => {
    const port = new ResilientSyncPort(new SyncHttpConnector('SIGA', { baseUrl: s.sigaUrl, token: s.token }), { breakerThreshold: 3, halfOpenAfterMs: 300 });
    s.sigaFaults.update({ outageUntil: new Date(Date.now() + 60_000).toISOString() });
    for (let i = 0; i < 3; i++) expect((await failure(port.sendStatusUpdate(body('1'), { idempotencyKey: `o-${i}` })))?.details).to.include({ reason: 'unavailable' });
    s.sigaFaults.clearStats();
    const open = await failure(port.sendStatusUpdate(body('1'), { idempotencyKey: 'o-4' }));
    expect(open?.code).to.equal('EXTERNAL_UNAVAILABLE');
    expect(open?.details).to.include({ reason: 'circuit_open' });
    expect(s.sigaFaults.stats.total, 'SIGA was not called while the circuit was open').to.equal(0);
    s.sigaFaults.reset();
    await new Promise((r) => setTimeout(r, 350));
    expect((await port.sendStatusUpdate(body('1'), { idempotencyKey: 'o-5' })).replayed).to.equal(false);
  });

  it('a malformed reply is EXTERNAL_REPLY_INVALID; a timeout EXTERNAL_UNAVAILABLE', async () => {
    const port = new SyncHttpConnector('SIGA', { baseUrl: s.sigaUrl, token: s.token, timeoutMs: 200 });
    s.sigaFaults.update({ malformedRate: 1 });
    expect((await failure(port.sendStatusUpdate(body('2'), { idempotencyKey: 'm-1' })))?.code).to.equal('EXTERNAL_REPLY_INVALID');
    expect((await failure(port.exportIdentities()))?.code).to.equal('EXTERNAL_REPLY_INVALID');
    s.sigaFaults.reset();
    s.sigaFaults.update({ timeoutRate: 1 });
    expect((await failure(port.sendStatusUpdate(body('3'), { idempotencyKey: 't-1' })))?.details).to.include({ reason: 'timeout' });
  });

  it('the rate limit lets a burst of one second’s worth through and holds the rest back, in the order asked', async () => {
    const direct = new SyncHttpConnector('SIGA', { baseUrl: s.sigaUrl, token: s.token });
    // What passes the limiter, in order; one event-loop turn after the burst of 5 a marker goes
    // in: calls held for a token (a timer) can only come after it.
    const passed: string[] = [];
    const recording: ExternalSyncPort = {
      system: 'SIGA',
      sendStatusUpdate: (update, options) => {
        passed.push(String(update.uin));
        if (passed.length === 5) setImmediate(() => passed.push('burst over'));
        return direct.sendStatusUpdate(update, options);
      },
      changes: (after, limit, options) => direct.changes(after, limit, options),
      exportIdentities: (options) => direct.exportIdentities(options),
    };
    const port = new ResilientSyncPort(recording, { ratePerSecond: 5 });
    s.sigaLedger.clearStats();
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => port.sendStatusUpdate(body(`r${i}`), { idempotencyKey: `r-${i}` })));
    expect(passed).to.deep.equal(['r0', 'r1', 'r2', 'r3', 'r4', 'burst over', 'r5', 'r6', 'r7']);
    expect(results.map((r) => r.replayed)).to.deep.equal(Array(8).fill(false));
    expect(s.sigaLedger.received).to.have.length(8);
  });
});
