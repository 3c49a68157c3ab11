import { createHash } from 'node:crypto';
import { realpathSync, unlinkSync } from 'node:fs';
import { type Server, createConnection, createServer } from 'node:net';
import { join } from 'node:path';
import { RegistoError } from '@registo/schemas';

/** A data directory one process holds; `release()` lets the next one in. */
export interface DataDirLock {
  readonly dir: string;
  release(): Promise<void>;
}

/**
 * The lock is a listening Unix socket named after the directory. On Linux it lives in the
 * abstract namespace, so the kernel drops it the instant its process ends, SIGKILL included:
 * there is never a stale lock to clean up. Elsewhere it is a socket file in the directory,
 * and a file nobody answers on is stale and replaced. A second opener connects to it and
 * learns the owner's pid, to name it in the refusal.
 */
function socketPath(dir: string): string {
  if (process.platform === 'linux') return `\0registo-data-dir-${createHash('sha256').update(dir).digest('hex').slice(0, 32)}`;
  return join(dir, '.registo.lock');
}

function ownerPid(path: string): Promise<number | null> {
  return new Promise((resolve) => {
    const c = createConnection(path);
    let answer = '';
    c.setTimeout(2000, () => c.destroy());
    c.on('data', (d) => (answer += d.toString()));
    c.on('close', () => resolve(/^\d+$/.test(answer.trim()) ? Number(answer.trim()) : null));
    c.on('error', () => resolve(null));
  });
}

function listen(path: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer((socket) => socket.end(String(process.pid)));
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      // Held for the process's life, but not a reason to keep the process alive.
      server.unref();
      resolve(server);
    });
  });
}

/**
 * Takes the data directory for this process, before anything in it is opened. Refuses at
 * once, naming the directory and the owner's pid, when another process holds it: two
 * processes writing one embedded database corrupt it.
 */
export async function lockDataDir(dir: string): Promise<DataDirLock> {
  const real = realpathSync(dir);
  const path = socketPath(real);
  let server: Server;
  try {
    server = await listen(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
    const pid = await ownerPid(path);
    if (pid === null && !path.startsWith('\0')) {
      // A socket file left by a process that ended: nobody answers on it.
      unlinkSync(path);
      return lockDataDir(dir);
    }
    throw new RegistoError('DATA_DIR_LOCKED', `the data directory ${real} is in use by another registo process${pid !== null ? ` (pid ${pid})` : ''}: stop it first; a command that opens the store itself needs the directory to itself`, { dataDir: real, ...(pid !== null && { ownerPid: pid }) });
  }
  let released = false;
  return {
    dir: real,
    async release() {
      if (released) return;
      released = true;
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
