import { expect } from 'chai';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { intakeKeyOf, packetStatus, submitPacket, waitForOutcomes } from '@registo/cli';
import { type EnrollmentPacket, issueDeviceCertificate, sealPacket } from '@registo/packets';
import { loadPlatformKeys } from '@registo/config';
import { DEFAULT_SERVICE_TOKEN, createPopulation } from '@registo/simulators';
import { PopulationPicker, TEST_CENTRE_ID, TEST_DEVICE_ID, citizenPacket } from '../../src/index.js';
import { exitOf, runCli, startCli } from './run-cli.js';

const SIGA_PORT = 41001;
const TOKEN = 'dev-officer';

interface SigaRecord {
  uin: string;
  civilRegistryNumber: string;
  identityStatus: string;
}

async function sigaRecords(): Promise<SigaRecord[]> {
  const r = await fetch(`http://127.0.0.1:${SIGA_PORT}/v1/exports/identities`, { headers: { authorization: `Bearer ${DEFAULT_SERVICE_TOKEN}` } });
  expect(r.status).to.equal(200);
  return ((await r.json()) as { records: SigaRecord[] }).records;
}

/**
 * The embedded platform's simulators stand in for systems that keep what they were told: after
 * `registo start` is stopped and started again on the same data dir, the ABIS still knows
 * everyone enrolled before (or biometric de-duplication would silently forget them), and SIGA
 * still holds the syncs the platform recorded as succeeded.
 */
describe('embedded platform restart: the simulators keep their state', function () {
  this.timeout(300_000);

  it('an ABIS duplicate is still found after a restart, and SIGA still holds the earlier sync', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'registo-simulator-state-')), 'data');
    const env = { REGISTO_DATA_DIR: dataDir, HOST: '127.0.0.1', REGISTO_SIGA_PORT: String(SIGA_PORT), REGISTO_IMMIGRATION_PORT: '41002', REGISTO_ABIS_PORT: '41003' };
    const picker = new PopulationPicker(createPopulation());
    const a = picker.citizen();
    const b = picker.citizen();

    const run = async <T>(work: (url: string, enrol: (p: EnrollmentPacket) => Promise<{ outcome: string; uin: string | null }>) => Promise<T>): Promise<T> => {
      const { child, url } = await startCli(['start', '--port', '0'], env);
      try {
        const keys = await loadPlatformKeys(join(dataDir, 'keys', 'software-keys.json'));
        const device = await issueDeviceCertificate(keys.registrationCa, { deviceId: TEST_DEVICE_ID, centreId: TEST_CENTRE_ID, notBefore: new Date(Date.now() - 86_400_000) });
        const intake = await intakeKeyOf(url, keys.intakeKey);
        const enrol = async (packet: EnrollmentPacket): Promise<{ outcome: string; uin: string | null }> => {
          const body = await sealPacket(packet, { device, intakePublicKey: intake.publicKey, intakeKid: intake.kid });
          expect((await submitPacket(url, packet.regId, body)).httpStatus).to.equal(202);
          return (await waitForOutcomes(url, TOKEN, [packet.regId], { timeoutMs: 120_000 })).get(packet.regId)!;
        };
        return await work(url, enrol);
      } finally {
        child.kill('SIGTERM');
        expect(await exitOf(child), 'stops cleanly').to.equal(0);
      }
    };

    const uinA = await run(async (_url, enrol) => {
      const first = await enrol(citizenPacket(a));
      expect(first.outcome).to.equal('APPROVED');
      // The sync role tells SIGA; wait for SIGA to hold it before stopping.
      const deadline = Date.now() + 60_000;
      while (!(await sigaRecords()).some((r) => r.uin === first.uin) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 250));
      return first.uin!;
    });

    await run(async (url, enrol) => {
      // B's own demographics (SIGA agrees), A's fingers and face: only the ABIS can tell.
      const impostor = citizenPacket(b, { biometricsOf: a.civilRegistryNumber });
      expect((await enrol(impostor)).outcome).to.equal('IN_ADJUDICATION');
      const status = await packetStatus(url, TOKEN, impostor.regId);
      expect(status.timeline.map((e) => e.type)).to.include('DuplicateSuspected');
      expect((status as unknown as { openAdjudication: string }).openAdjudication).to.equal(`adj-${impostor.regId}:dup:${uinA}`);
      expect((await sigaRecords()).find((r) => r.uin === uinA), 'SIGA still holds the sync from before the restart').to.include({ civilRegistryNumber: a.civilRegistryNumber, identityStatus: 'ACTIVE' });
    });
  });

  it('a garbled simulator journal stops start-up, naming the file and line but not its content', async () => {
    const dataDir = join(mkdtempSync(join(tmpdir(), 'registo-simulator-state-')), 'data');
    const file = join(dataDir, 'simulators', 'siga.jsonl');
    mkdirSync(join(dataDir, 'simulators'), { recursive: true });
    writeFileSync(file, '{"op":"update","surname":"Trovoada"\n');
    const r = await runCli(['start', '--port', '0'], { REGISTO_DATA_DIR: dataDir, HOST: '127.0.0.1', REGISTO_SIGA_PORT: '41004', REGISTO_IMMIGRATION_PORT: '41005', REGISTO_ABIS_PORT: '41006' });
    expect(r.code).to.equal(1);
    expect(r.stderr).to.include(`simulator state ${file} cannot be read at line 1`);
    expect(r.stderr + r.stdout).not.to.include('Trovoada');
  });
});
