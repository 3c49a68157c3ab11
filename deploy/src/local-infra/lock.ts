import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { InfraError } from './errors.js';
import { isAlive, sleep } from './proc.js';

/**
 * Cross-process mutual exclusion with a lock directory (mkdir is atomic). A lock whose owner process has died
 * is taken over; so is an ownerless lock older than a few seconds (owner crashed between mkdir and write).
 */
export async function withLock<T>(
  lockDir: string,
  what: string,
  timeoutMs: number,
  onWait: (message: string) => void,
  fn: () => Promise<T>,
): Promise<T> {
  await mkdir(dirname(lockDir), { recursive: true });
  const ownerFile = join(lockDir, 'owner');
  const deadline = Date.now() + timeoutMs;
  let announced = false;
  for (;;) {
    try {
      await mkdir(lockDir);
      await writeFile(ownerFile, `${process.pid}\n`);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = Number((await readFile(ownerFile, 'utf8').catch(() => '')).trim());
    let stale: boolean;
    if (Number.isInteger(owner) && owner > 0) {
      stale = owner === process.pid ? false : !isAlive(owner);
    } else {
      const age = await stat(lockDir).then((s) => Date.now() - s.mtimeMs, () => 0);
      stale = age > 5000;
    }
    if (stale) {
      await rm(lockDir, { recursive: true, force: true });
      continue;
    }
    if (Date.now() > deadline) {
      throw new InfraError(`Timed out waiting for ${what} (lock ${lockDir} held by pid ${owner || 'unknown'})`);
    }
    if (!announced) {
      onWait(`waiting for ${what} (held by pid ${owner || 'unknown'})…`);
      announced = true;
    }
    await sleep(250);
  }
  try {
    return await fn();
  } finally {
    await rm(lockDir, { recursive: true, force: true });
  }
}
