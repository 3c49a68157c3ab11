import { expect } from 'chai';
import { createLogger } from '@registo/base';
import { supervise } from '../../src/index.js';

const logger = createLogger('silent');
const until = async (what: string, check: () => boolean): Promise<void> => {
  for (let i = 0; i < 400; i++) {
    if (check()) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`never: ${what}`);
};

describe('supervise: a worker that fails comes back', () => {
  it('restarts a failing run with back-off, shows it restarting with the cause, then running again', async () => {
    let runs = 0;
    let release!: () => void;
    const s = supervise(
      'w',
      logger,
      async () => {
        runs++;
        if (runs <= 2) throw Object.assign(new Error('database went away'), { code: 'STORE_UNAVAILABLE' });
        await new Promise<void>((r) => (release = r));
      },
      async () => release?.(),
      { initialBackoffMs: 20, maxBackoffMs: 40 },
    );
    await until('restarting', () => s.health().state === 'restarting');
    const down = s.health();
    expect(down.lastError).to.include({ code: 'STORE_UNAVAILABLE', message: 'database went away' });
    expect(down.nextStartAt).to.be.a('string');
    await until('third run', () => runs === 3 && s.health().state === 'running');
    expect(s.health().restarts).to.equal(2);
    expect(s.health().nextStartAt).to.equal(undefined);
    await s.stop();
    expect(s.health().state).to.equal('stopped');
    expect(runs).to.equal(3);
  });

  it('a run that returns on its own is restarted too (a worker that quietly stops is down)', async () => {
    let runs = 0;
    let release!: () => void;
    const s = supervise('w', logger, async () => {
      runs++;
      if (runs === 1) return;
      await new Promise<void>((r) => (release = r));
    }, async () => release?.(), { initialBackoffMs: 10 });
    await until('second run', () => runs === 2);
    expect(s.health().lastError?.code).to.equal('WORKER_ENDED');
    await s.stop();
  });

  it('stop during the back-off ends at once and does not start the worker again', async () => {
    let runs = 0;
    const s = supervise('w', logger, async () => {
      runs++;
      throw new Error('boom');
    }, async () => undefined, { initialBackoffMs: 600_000, maxBackoffMs: 600_000 });
    await until('restarting', () => s.health().state === 'restarting');
    // Were the back-off waited out, this would outlast the test's timeout.
    await s.stop();
    expect(runs).to.equal(1);
    expect(s.health().state).to.equal('stopped');
  });

  it('a failure a restart cannot mend (offsets of another store) leaves the worker failed with its cause, not restarted', async () => {
    let runs = 0;
    const s = supervise('w', logger, async () => {
      runs++;
      throw Object.assign(new Error('offsets of another store'), { code: 'CONSUMER_OFFSETS_FOREIGN' });
    }, async () => undefined, { initialBackoffMs: 1, maxBackoffMs: 1 });
    await until('failed', () => s.health().state === 'failed');
    // With a 1 ms back-off, a restart would have come long before these 20 ms are over.
    await new Promise((r) => setTimeout(r, 20));
    expect(runs).to.equal(1);
    expect(s.health()).to.deep.include({ state: 'failed', restarts: 0 });
    expect(s.health().lastError).to.include({ code: 'CONSUMER_OFFSETS_FOREIGN', message: 'offsets of another store' });
    await s.stop();
    expect(s.health().state).to.equal('stopped');
  });
});
