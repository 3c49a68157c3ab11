/**
 * A SoftHSM2 token of Registo's own, for development and the test suite: the software PKCS#11
 * module stands in for the hardware security module of a qualified deployment.
 *
 * Nothing here depends on system-wide SoftHSM state: every token lives in a directory of ours,
 * described by a private `softhsm2.conf`, and every command we run (and every process that loads
 * the module) gets `SOFTHSM2_CONF` pointing at it.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { InfraError } from '../local-infra/errors.js';
import { withLock } from '../local-infra/lock.js';
import { runLogged, tail } from '../local-infra/proc.js';

/** Where Debian and other distributions put the SoftHSM2 module, most likely first. */
export const SOFTHSM_MODULE_CANDIDATES: readonly string[] = [
  '/usr/lib/softhsm/libsofthsm2.so',
  '/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so',
  '/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so',
  '/usr/lib64/pkcs11/libsofthsm2.so',
  '/usr/lib/pkcs11/libsofthsm2.so',
  '/usr/local/lib/softhsm/libsofthsm2.so',
  '/opt/homebrew/lib/softhsm/libsofthsm2.so',
];

const DEFAULT_TIMEOUT_MS = 15 * 60_000;

export interface SoftHsmOptions {
  /** Folder for the private `softhsm2.conf` and its `tokens/`. Default `<REGISTO_CACHE_DIR or ~/.cache/registo>/softhsm`. */
  dir?: string;
  /** Human-readable progress lines (installing…). */
  onProgress?: (message: string) => void;
  /** How long each apt-get step may take. Default 15 min. */
  timeoutMs?: number;
}

export interface SoftHsm {
  /** Absolute path of `libsofthsm2.so`: what `REGISTO_PKCS11_MODULE` names. */
  module: string;
  /** The private configuration: what `SOFTHSM2_CONF` names for every process using these tokens. */
  conf: string;
  /** Where the tokens' files are (`directories.tokendir`). */
  tokenDir: string;
  /** The environment to run `softhsm2-util`, `pkcs11-tool` or a platform process with (`process.env` + `SOFTHSM2_CONF`). */
  env: NodeJS.ProcessEnv;
}

export interface InitTokenOptions {
  /** Token label (1–32 characters): how the token is found; its slot number changes on initialisation. */
  label: string;
  /** Security officer PIN (4–255 characters), used only when the token is created. */
  soPin: string;
  /** User PIN (4–255 characters): the PIN the platform logs in with. */
  userPin: string;
  /** The private `softhsm2.conf` from `ensureSoftHsm()`. */
  conf: string;
  /** The module (to report back); default: the first of SOFTHSM_MODULE_CANDIDATES that exists. */
  module?: string;
  onProgress?: (message: string) => void;
}

export interface SoftHsmToken {
  module: string;
  conf: string;
  label: string;
  userPin: string;
  /** True when this call initialised the token, false when a token with that label was already there. */
  created: boolean;
}

function cacheRoot(): string {
  return resolve(process.env.REGISTO_CACHE_DIR ?? join(homedir(), '.cache', 'registo'));
}

function onPath(command: string): boolean {
  return (process.env.PATH ?? '').split(':').some((dir) => dir !== '' && existsSync(join(dir, command)));
}

/** The SoftHSM2 module on this machine, or undefined. */
export function findSoftHsmModule(): string | undefined {
  return SOFTHSM_MODULE_CANDIDATES.find((p) => existsSync(p));
}

function missingPackages(): string[] {
  const missing: string[] = [];
  if (!findSoftHsmModule() || !onPath('softhsm2-util')) missing.push('softhsm2');
  if (!onPath('pkcs11-tool')) missing.push('opensc');
  return missing;
}

async function installPackages(progress: (m: string) => void, timeoutMs: number): Promise<void> {
  const wanted = missingPackages();
  if (wanted.length === 0) return;
  if (!onPath('apt-get') || process.getuid?.() !== 0) {
    throw new InfraError(
      `SoftHSM2 needs the Debian package(s) ${wanted.join(', ')} (libsofthsm2.so not found in ${SOFTHSM_MODULE_CANDIDATES[0]} or the other usual places, ` +
        `or softhsm2-util / pkcs11-tool not on PATH); install them (apt-get install -y ${wanted.join(' ')}) and retry`,
    );
  }
  const root = cacheRoot();
  const logFile = join(root, 'fetch-logs', 'softhsm-apt.log');
  await mkdir(join(root, 'fetch-logs'), { recursive: true });
  await withLock(join(root, '.lock-softhsm-apt'), 'another apt-get install of SoftHSM2', timeoutMs, progress, async () => {
    const missing = missingPackages(); // another process may have installed them while we waited
    if (missing.length === 0) return;
    progress(`softhsm: apt-get install -y ${missing.join(' ')}…`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    // apt's own lock would make a concurrent apt-get fail at once: wait for it instead.
    const lockWait = ['-o', `DPkg::Lock::Timeout=${Math.ceil(timeoutMs / 1000)}`];
    try {
      await runLogged({ command: 'apt-get', args: [...lockWait, 'update'], cwd: root, env, logFile, timeoutMs });
      await runLogged({ command: 'apt-get', args: [...lockWait, 'install', '-y', '--no-install-recommends', ...missing], cwd: root, env, logFile, timeoutMs });
    } catch (error) {
      throw new InfraError(`apt-get install ${missing.join(' ')} failed (${(error as Error).message}); see ${logFile}\n${await tail(logFile, 20)}`, {
        logFile,
        cause: error,
      });
    }
  });
  const still = missingPackages();
  if (still.length > 0) throw new InfraError(`apt-get installed ${wanted.join(', ')} but ${still.join(', ')} is still missing (libsofthsm2.so not in a known place?)`, { logFile });
}

/**
 * Makes SoftHSM2 usable for Registo: installs `softhsm2` and `opensc` with apt-get when the module or
 * the tools are missing (root on Debian/Ubuntu; elsewhere it says what to install), then writes a
 * private `softhsm2.conf` with its own token directory. Idempotent; the configuration is rewritten
 * only when it would change.
 */
export async function ensureSoftHsm(options: SoftHsmOptions = {}): Promise<SoftHsm> {
  const progress = (m: string) => {
    try {
      options.onProgress?.(m);
    } catch {
      // progress is informational
    }
  };
  await installPackages(progress, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const module = findSoftHsmModule()!;
  const dir = resolve(options.dir ?? join(cacheRoot(), 'softhsm'));
  const tokenDir = join(dir, 'tokens');
  await mkdir(tokenDir, { recursive: true, mode: 0o700 });
  await chmod(tokenDir, 0o700);
  const conf = join(dir, 'softhsm2.conf');
  const text = [
    '# Registo: a private SoftHSM2 configuration (SOFTHSM2_CONF). Tokens live below, nowhere else.',
    `directories.tokendir = ${tokenDir}`,
    'objectstore.backend = file',
    'log.level = ERROR',
    'slots.removable = false',
    '',
  ].join('\n');
  if ((await readFile(conf, 'utf8').catch(() => undefined)) !== text) {
    await writeFile(conf, text, { mode: 0o600 });
  }
  return { module, conf, tokenDir, env: { ...process.env, SOFTHSM2_CONF: conf } };
}

function run(command: string, args: string[], conf: string): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    execFile(command, args, { env: { ...process.env, SOFTHSM2_CONF: conf }, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new InfraError(`${command} ${args[0] ?? ''} failed: ${(stderr || stdout || error.message).trim()}`, { cause: error }));
      else resolvePromise(stdout);
    });
  });
}

/** The labels of the initialised tokens that the configuration `conf` describes. */
export async function listSoftHsmTokens(conf: string): Promise<string[]> {
  const out = await run('softhsm2-util', ['--show-slots'], conf);
  const labels: string[] = [];
  // Each slot's "Token info:" block: "Initialized: yes" comes before "Label: …".
  for (const block of out.split(/^Slot /m).slice(1)) {
    if (!/^\s*Initialized:\s*yes\s*$/m.test(block)) continue;
    const label = /^\s*Label:[ \t]*(.*?)\s*$/m.exec(block)?.[1];
    if (label !== undefined) labels.push(label);
  }
  return labels;
}

function checkLength(what: string, value: string, min: number, max: number): void {
  if (value.length < min || value.length > max) throw new InfraError(`SoftHSM token: the ${what} must be ${min}–${max} characters`);
}

/**
 * Initialises a SoftHSM2 token with `label` in the free slot — only when no token with that label
 * exists yet (an existing token, its keys and its PINs are left as they are). Serialised by a lock
 * beside the configuration, so concurrent callers create one token.
 */
export async function initToken(options: InitTokenOptions): Promise<SoftHsmToken> {
  const { label, soPin, userPin } = options;
  checkLength('label', label, 1, 32);
  checkLength('security officer PIN', soPin, 4, 255);
  checkLength('user PIN', userPin, 4, 255);
  if (label !== label.trim()) throw new InfraError('SoftHSM token: the label may not start or end with spaces');
  const conf = resolve(options.conf);
  if (!existsSync(conf)) throw new InfraError(`SoftHSM configuration ${conf} does not exist; call ensureSoftHsm() first`);
  const module = options.module ?? findSoftHsmModule();
  if (!module) throw new InfraError('SoftHSM2 is not installed (libsofthsm2.so not found); call ensureSoftHsm() first');
  const lockDir = join(resolve(conf, '..'), '.lock-init-token');
  const created = await withLock(lockDir, `initialisation of SoftHSM token ${label}`, 60_000, options.onProgress ?? (() => undefined), async () => {
    if ((await listSoftHsmTokens(conf)).includes(label)) return false;
    options.onProgress?.(`softhsm: initialising token ${label}…`);
    await run('softhsm2-util', ['--init-token', '--free', '--label', label, '--so-pin', soPin, '--pin', userPin], conf);
    if (!(await listSoftHsmTokens(conf)).includes(label)) throw new InfraError(`softhsm2-util initialised a token but none is labelled ${label} (configuration ${conf})`);
    return true;
  });
  return { module, conf, label, userPin, created };
}
