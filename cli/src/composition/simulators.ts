import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '@registo/base';
import { lockDataDir } from '@registo/event-store';
import type { RegistoConfig } from '@registo/config';
import { type RunningSimulators, startSimulators } from '@registo/simulators';
import type { Workers } from './workers.js';

/**
 * The in-process SIGA, Immigration and ABIS, when configured. They stand in for systems that keep
 * what they were told: the ABIS its gallery (or de-duplication forgets everyone enrolled before a
 * restart), SIGA and Immigration their records. One process journals a state directory at a time
 * (on PostgreSQL the data dir itself is not locked by the store). They stop with the workers.
 */
export async function startConfiguredSimulators(config: RegistoConfig, logger: Logger, workers: Workers): Promise<{ simulators: RunningSimulators | null; external: RegistoConfig['external'] }> {
  if (!config.simulators) return { simulators: null, external: config.external };
  const stateDir = join(config.dataDir, 'simulators');
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const stateLock = await lockDataDir(stateDir);
  let sims: RunningSimulators;
  try {
    sims = await startSimulators({ ...config.simulators, host: '127.0.0.1', stateDir });
  } catch (e) {
    await stateLock.release();
    throw e;
  }
  workers.add({ name: 'simulators', stop: () => sims.close().finally(() => stateLock.release()), describe: () => ({ siga: sims.sigaUrl, immigration: sims.immigrationUrl, abis: sims.abisUrl }) });
  logger.info({ siga: sims.sigaUrl, immigration: sims.immigrationUrl, abis: sims.abisUrl, stateDir }, 'SIGA, Immigration and ABIS simulators started');
  return { simulators: sims, external: { sigaUrl: sims.sigaUrl, immigrationUrl: sims.immigrationUrl, abisUrl: sims.abisUrl, token: sims.token, timeoutMs: config.externalTimeoutMs } };
}
