import { expect } from 'chai';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type DemoPacket, DemoPacketFactory, intakeKeyOf, waitForOutcomes } from '@registo/cli';
import { PGliteDriver, SqlEventStore } from '@registo/event-store';
import { issueDeviceCertificate } from '@registo/packets';
import { loadPlatformKeys } from '@registo/config';
import { createPopulation } from '@registo/simulators';
import { type AppliedByKey, embeddedStartEnv, expectLogIntact, publishedCheckpointKey, simulatorLedgers, uploadUntilAnswered } from '../../src/index.js';
import { waitFor } from '../kafka/processes.js';
import { exitOf, runCli, startCli } from './run-cli.js';
import { freeBytes, mountTmpfs } from './tmpfs.js';

const MiB = 1024 * 1024;
const PACKETS = 30;

interface Problem {
  code: string;
  cause?: string;
  freeBytes?: number;
  reserveBytes?: number;
}

/**
 * The embedded platform on a small filesystem that fills up during uploads: it keeps
 * answering, refuses writes with the retryable 503, says why in /readyz, and takes writes
 * again by itself once space returns; nothing it accepted is lost.
 */
describe('registo start: a full disk under the embedded store', function () {
  this.timeout(300_000);
  let fs: { dir: string; unmount(): void } | undefined;

  before(function () {
    if (process.getuid?.() !== 0) this.skip();
    fs = mountTmpfs('size=192m');
  });
  after(() => fs?.unmount());

  it('writes get 503 STORE_UNAVAILABLE while health, reads and /readyz answer; after space returns every accepted packet is final, the log gap-free and `audit verify` passes', async () => {
    const dataDir = join(fs!.dir, 'data');
    const filler = join(fs!.dir, 'filler');
    const { child, url, output } = await startCli(['start', '--port', '0'], { ...embeddedStartEnv(dataDir), REGISTO_CHECKPOINT_INTERVAL_MS: '200' });
    let exitCode: number | null;
    const packets: DemoPacket[] = [];
    let checkpointKey: { spki: Buffer; origin: string } | undefined;
    let ledgers: Record<string, AppliedByKey> | undefined;
    try {
      const keys = await loadPlatformKeys(join(dataDir, 'keys', 'software-keys.json'));
      const device = await issueDeviceCertificate(keys.registrationCa, { deviceId: 'full-disk-client', centreId: '10031', notBefore: new Date(Date.now() - 86_400_000) });
      const factory = new DemoPacketFactory({ population: createPopulation(), device, intake: await intakeKeyOf(url, keys.intakeKey), mix: { foreigners: 0.2, discrepancies: 0, duplicates: 0, invalid: 0 }, seed: 13, eligibleOnly: true });
      for (let i = 0; i < PACKETS + 1; i++) packets.push(await factory.packet(i));
      const probe = packets.pop()!;

      // Uploads run throughout, as registration clients do: a 503 is waited out and retried.
      const statuses: number[] = [];
      const answers: number[] = [];
      let next = 0;
      const uploads = Promise.all(
        Array.from({ length: 2 }, async () => {
          for (let i = next++; i < packets.length; i = next++) answers[i] = await uploadUntilAnswered(url, packets[i]!, statuses);
        }),
      );
      await waitFor('10 uploads answered', async () => answers.filter(Boolean).length >= 10, 120_000);

      // The disk fills up: 32 MiB are left, below the 64 MiB reserve.
      writeFileSync(filler, Buffer.alloc(freeBytes(fs!.dir) - 32 * MiB));
      let ready: Response | undefined;
      await waitFor('/readyz to name the full disk', async () => {
        ready = await fetch(`${url}/readyz`);
        return ready.status === 503;
      }, 30_000);
      expect(ready!.headers.get('retry-after')).to.be.a('string');
      const notReady = (await ready!.json()) as Problem;
      expect(notReady).to.include({ code: 'STORE_UNAVAILABLE', cause: 'disk full', reserveBytes: 64 * MiB });
      expect(notReady.freeBytes).to.be.below(64 * MiB);

      const upload = await fetch(`${url}/v1/packets`, { method: 'POST', headers: { 'content-type': 'application/jose' }, body: probe.body });
      expect(upload.status, 'a write while the disk is full').to.equal(503);
      expect(upload.headers.get('retry-after')).to.be.a('string');
      expect((await upload.json()) as Problem).to.include({ code: 'STORE_UNAVAILABLE', cause: 'disk full' });
      expect((await fetch(`${url}/healthz`)).status, 'the liveness probe answers').to.equal(200);
      const accepted = packets.find((_, i) => answers[i] === 202)!;
      const read = await fetch(`${url}/v1/packets/${accepted.regId}`, { headers: { authorization: 'Bearer dev-client' } });
      expect(read.status, 'a read while the disk is full').to.equal(200);
      expect((await fetch(`${url}/v1/audit/checkpoints/latest`)).status).to.equal(200);
      // The clients keep being told to come back while it lasts.
      const refusedBefore = statuses.filter((s) => s === 503).length;
      await waitFor('uploads refused meanwhile', async () => statuses.filter((s) => s === 503).length >= refusedBefore + 5, 30_000);

      // Space returns: writes resume by themselves.
      rmSync(filler);
      await uploads;
      answers.push(await uploadUntilAnswered(url, probe, statuses));
      packets.push(probe);
      expect(statuses.filter((s) => s >= 500 && s !== 503), 'no answer other than 503 among the 5xx').to.deep.equal([]);
      expect(answers.every((s) => s === 202 || s === 409), `every packet accepted (a retry of an accepted one may find it taken): ${answers.join(',')}`).to.equal(true);

      const outcomes = await waitForOutcomes(url, 'dev-client', packets.map((p) => p.regId), { timeoutMs: 180_000 });
      const pending = [...outcomes].filter(([, o]) => o.outcome === 'PENDING').map(([regId]) => regId);
      expect(pending, 'every accepted packet reached its final state').to.deep.equal([]);
      expect([...outcomes.values()].filter((o) => o.outcome === 'APPROVED').length).to.equal(packets.length);

      await waitFor('ready again', async () => (await fetch(`${url}/readyz`)).status === 200, 60_000);
      // Checkpointed up to the head, but for the head itself when it is the last checkpoint's own event.
      const head = async (): Promise<number> => ((await (await fetch(`${url}/readyz`)).json()) as { checks: { eventStore: { headPosition: number } } }).checks.eventStore.headPosition;
      const signed = async (): Promise<number> => ((await (await fetch(`${url}/v1/audit/checkpoints/latest`)).json()) as { treeSize: number }).treeSize;
      await waitFor('a checkpoint over the log', async () => (await head()) - 1 <= (await signed()), 60_000);
      const verify = await runCli(['audit', 'verify', url, '--token', 'dev-auditor', '--json']);
      expect(verify.code, verify.stdout + verify.stderr).to.equal(0);
      const report = JSON.parse(verify.stdout.trim().split('\n').pop()!) as { ok: boolean; findings: unknown[] };
      expect(report.findings).to.deep.equal([]);
      expect(report.ok).to.equal(true);
      checkpointKey = await publishedCheckpointKey(url);
      const sims = ((await (await fetch(`${url}/readyz`)).json()) as { workers: { simulators: { siga: string; immigration: string } } }).workers.simulators;
      ledgers = await simulatorLedgers({ sigaUrl: sims.siga, immigrationUrl: sims.immigration });
    } finally {
      // Stopped before the filesystem is unmounted, whatever happened.
      child.kill('SIGTERM');
      exitCode = await exitOf(child);
    }
    expect(exitCode, output().slice(-2000)).to.equal(0);

    // The end-of-outage checks (positions, audit, read models, every accepted packet final, no
    // sync applied twice), and one stream per packet.
    const driver = await PGliteDriver.open(dataDir, { stallMs: 0 });
    const store = await SqlEventStore.open(driver);
    try {
      await expectLogIntact({ db: driver, store, acceptedRegIds: packets.map((p) => p.regId), checkpointKey, ledgers });
      const [streams] = await driver.query<{ n: number }>(`SELECT count(DISTINCT stream_id)::int AS n FROM registo_events WHERE category = 'enrollment'`);
      expect(streams!.n).to.equal(PACKETS + 1);
    } finally {
      await store.close();
    }
  });
});
