import { execFile, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { mkdir, open, readFile, readdir, readlink, rename, rm, stat, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { dirname } from 'node:path';

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Seconds with one decimal, for progress lines. */
export const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A zombie still answers kill(0); treat it as dead (Linux; elsewhere trust kill(0)).
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2).charAt(0);
    return state !== 'Z' && state !== 'X';
  } catch {
    return true;
  }
}

/** The command line of a process as an argv array, or undefined if it is gone / unreadable. */
async function commandLine(pid: number): Promise<string[] | undefined> {
  try {
    const raw = await readFile(`/proc/${pid}/cmdline`);
    if (raw.length > 0) return raw.toString('utf8').split('\0').filter((s) => s !== '');
  } catch {
    // not Linux, or gone
  }
  return new Promise((resolvePromise) => {
    execFile('ps', ['-ww', '-o', 'command=', '-p', String(pid)], { timeout: 5000 }, (error, stdout) => {
      if (error || !stdout.trim()) return resolvePromise(undefined);
      resolvePromise([stdout.trim()]); // one string: ps cannot tell us where arguments begin and end
    });
  });
}

/** True if `pid` is alive and its command line carries every one of `markers`. */
export async function isOurProcess(pid: number, markers: readonly string[]): Promise<boolean> {
  if (!isAlive(pid)) return false;
  const argv = await commandLine(pid);
  return !!argv && markers.every((m) => argv.includes(m) || argv.some((a) => ` ${a} `.includes(` ${m} `)));
}

/** The pids /proc lists (Linux); none elsewhere. */
async function procPids(): Promise<number[]> {
  try {
    return (await readdir('/proc')).filter((entry) => /^\d+$/.test(entry)).map(Number);
  } catch {
    return [];
  }
}

/** Linux only: finds a live process whose command line carries all markers (used when a pid file was lost). */
export async function findProcessByMarkers(markers: readonly string[]): Promise<number | undefined> {
  for (const pid of await procPids()) {
    if (pid === process.pid) continue;
    try {
      const argv = (await readFile(`/proc/${pid}/cmdline`)).toString('utf8').split('\0');
      if (markers.every((m) => argv.includes(m)) && isAlive(pid)) return pid;
    } catch {
      // raced with exit or not ours to read
    }
  }
  return undefined;
}

/** Resident set size in MiB (Linux), undefined elsewhere. */
export async function rssMb(pid: number): Promise<number | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = /VmRSS:\s+(\d+)\s+kB/.exec(status)?.[1];
    return kb ? Math.round(Number(kb) / 1024) : undefined;
  } catch {
    return undefined;
  }
}

/** Does something accept TCP connections on host:port? */
export function isPortOpen(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const socket = connect({ host, port });
    const done = (open: boolean) => {
      socket.removeAllListeners();
      socket.destroy();
      resolvePromise(open);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Linux best effort: which process listens on a TCP port? */
export async function findListener(port: number): Promise<{ pid: number; argv: string[] } | undefined> {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = await readFile(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      const local = cols[1];
      if (!local || cols[3] !== '0A') continue; // 0A = LISTEN
      if (parseInt(local.slice(local.lastIndexOf(':') + 1), 16) === port && cols[9]) inodes.add(cols[9]);
    }
  }
  if (inodes.size === 0) return undefined;
  for (const pid of await procPids()) {
    let fds: string[];
    try {
      fds = await readdir(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const target = await readlink(`/proc/${pid}/fd/${fd}`);
        const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
        if (inode && inodes.has(inode)) {
          return { pid, argv: (await commandLine(pid)) ?? [] };
        }
      } catch {
        // fd closed meanwhile
      }
    }
  }
  return undefined;
}

export async function readPidFile(path: string): Promise<number | undefined> {
  try {
    const pid = Number((await readFile(path, 'utf8')).trim().split(/\s+/)[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

export async function writeFileAtomic(path: string, content: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, content);
  await rename(tmp, path);
}

export async function removeFile(path: string): Promise<void> {
  await rm(path, { force: true });
}

/** Keeps logs from growing forever: the previous log moves to `<log>.1` once it passes `maxBytes`. */
export async function rotateLog(path: string, maxBytes = 20 * 1024 * 1024): Promise<void> {
  try {
    if ((await stat(path)).size > maxBytes) await rename(path, `${path}.1`);
  } catch {
    // no log yet
  }
}

export interface SpawnSpec {
  command: string;
  args: string[];
  cwd: string;
  env?: NodeJS.ProcessEnv;
  logFile: string;
}

/**
 * Starts a process that outlives us: its own session/process group, stdin closed, stdout+stderr appended to
 * the log file. Returns its pid.
 */
export async function spawnDetached(spec: SpawnSpec): Promise<number> {
  await mkdir(dirname(spec.logFile), { recursive: true });
  const fd = openSync(spec.logFile, 'a');
  try {
    writeSync(fd, `\n===== ${new Date().toISOString()} registo starting: ${[spec.command, ...spec.args].join(' ')}\n`);
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env ?? process.env,
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    const pid = await new Promise<number>((resolvePromise, reject) => {
      child.once('error', reject);
      child.once('spawn', () => resolvePromise(child.pid as number));
    });
    child.unref();
    return pid;
  } finally {
    closeSync(fd);
  }
}

/** Runs a short-lived command to completion, appending its output to a log; rejects on non-zero exit. */
export async function runLogged(spec: SpawnSpec & { timeoutMs: number }): Promise<void> {
  await mkdir(dirname(spec.logFile), { recursive: true });
  const handle = await open(spec.logFile, 'a');
  try {
    await handle.write(`\n===== ${new Date().toISOString()} registo running: ${[spec.command, ...spec.args].join(' ')}\n`);
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env ?? process.env,
      stdio: ['ignore', handle.fd, handle.fd],
    });
    await new Promise<void>((resolvePromise, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`timed out after ${seconds(spec.timeoutMs)}`));
      }, spec.timeoutMs);
      child.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        if (code === 0) resolvePromise();
        else reject(new Error(`exited with ${signal ?? `code ${code}`}`));
      });
    });
  } finally {
    await handle.close();
  }
}

/** SIGTERM the process group, then SIGKILL after `graceMs`. Resolves with the signal that finished it. */
export async function stopProcess(pid: number, graceMs: number): Promise<'SIGTERM' | 'SIGKILL' | 'gone'> {
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig); // detached => pid is the process-group leader
    } catch {
      try {
        process.kill(pid, sig);
      } catch {
        // already gone
      }
    }
  };
  if (!isAlive(pid)) return 'gone';
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) {
      await reaped(pid);
      return 'SIGTERM';
    }
    await sleep(100);
  }
  signal('SIGKILL');
  const killDeadline = Date.now() + 10_000;
  while (isAlive(pid) && Date.now() < killDeadline) await sleep(100);
  await reaped(pid);
  return 'SIGKILL';
}

/**
 * When this very Node process spawned the child (e.g. a test calling up then down), the dead child stays a
 * zombie until libuv reaps it on a later event-loop turn; give it that turn so callers see the pid gone.
 */
async function reaped(pid: number, maxMs = 2000): Promise<void> {
  const deadline = Date.now() + maxMs;
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    if (Date.now() > deadline) return;
    await sleep(20);
  }
}

/** Last `lines` lines a log got since registo last (re)started the process, for error messages. */
export async function tail(path: string, lines = 25): Promise<string> {
  try {
    const all = (await readFile(path, 'utf8')).trimEnd().split('\n');
    const header = all.findLastIndex((l) => l.startsWith('===== '));
    const recent = all.slice(header + 1);
    return recent.slice(-lines).join('\n') || '(no log output)';
  } catch {
    return '(no log output)';
  }
}
