import { expect } from 'chai';
import { type ChildProcess, spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readerCheckout } from './doc-examples.js';
import { freePort } from './free-port.js';
import { run } from './processes.js';

/**
 * What the README tests share: a newcomer's checkout, a reader's environment, a platform
 * started with a documented command, and what each "Try it" command must show.
 */

const REPO = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
export const README = join(REPO, 'README.md');

/**
 * The project as a newcomer's checkout: every entry of the repository except its data directory
 * and its local-infrastructure state, so `./data` (the embedded default) is this test's own.
 * Symlinks: the build and the installed dependencies are the ones already here.
 */
export function newcomerCheckout(): string {
  return readerCheckout(REPO, 'readme');
}

/**
 * A reader's shell on a machine where another Registo holds the default ports: fresh API and
 * simulator ports, and none of the suite's own platform settings (store, brokers, tokens).
 */
export async function readerEnv(): Promise<NodeJS.ProcessEnv> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) if (/^(REGISTO_(?!.*_PORT$)|DATABASE_URL|KAFKA_BROKERS|HOST$)/.test(name)) delete env[name];
  Object.assign(env, {
    PORT: String(await freePort()),
    REGISTO_SIGA_PORT: String(await freePort()),
    REGISTO_IMMIGRATION_PORT: String(await freePort()),
    REGISTO_ABIS_PORT: String(await freePort()),
  });
  return env;
}

/** A documented command run as a reader's shell runs it: status of the pipeline's last command, and its output. */
export function shell(command: string, cwd: string, env: NodeJS.ProcessEnv): ReturnType<typeof run> {
  return run('bash', ['-c', command], { cwd, env, timeoutMs: 300_000 });
}

/** `npm start` (with whatever the README puts before it) in the foreground of a terminal of its own. */
export class DocumentedPlatform {
  private child: ChildProcess | undefined;
  output = '';

  constructor(
    private readonly dir: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  /** Starts `command` in a process group of its own and waits for its "ready on" line. */
  async start(command: string): Promise<void> {
    this.output = '';
    const child = spawn('bash', ['-c', command], { cwd: this.dir, env: this.env, detached: true });
    this.child = child;
    child.stdout!.on('data', (d: Buffer) => (this.output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (this.output += d.toString()));
    const ready = `ready on http://127.0.0.1:${this.env.PORT}`;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${command}: not ready after 180 s:\n${this.output.slice(-3000)}`)), 180_000);
      const check = setInterval(() => {
        if (this.output.includes(ready)) {
          clearInterval(check);
          clearTimeout(timer);
          resolve();
        }
      }, 100);
      child.once('exit', (code) => {
        clearInterval(check);
        clearTimeout(timer);
        reject(new Error(`${command} exited with ${code}:\n${this.output.slice(-3000)}`));
      });
    });
  }

  /** Ctrl-C in the reader's terminal signals the whole foreground group: npm, its shell, registo. */
  async stop(): Promise<void> {
    const child = this.child!;
    process.kill(-child.pid!, 'SIGINT');
    await new Promise<void>((r) => (child.exitCode !== null || child.signalCode !== null ? r() : child.once('exit', () => r())));
    await new Promise((r) => setTimeout(r, 500));
    this.child = undefined;
    expect(this.output, 'registo stops cleanly').to.include('registo stopped');
  }

  /** Whatever of the group is left if a test failed half-way (nothing when it passed). */
  kill(): void {
    if (this.child?.pid === undefined) return;
    try {
      process.kill(-this.child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** What each "Try it" command must show, beyond exiting 0 (keyed by the command's start). */
const TRY_IT_SHOWS: Array<[RegExp, (out: string, port: number) => void]> = [
  [/^npx registo demo /, (out) => expect(out).to.match(/approved/i)],
  [/\/v1\/adjudications/, (out) => expect(out).to.match(/^\{"items":\[/)],
  [/\/v1\/print-orders/, (out) => expect(out).to.match(/^\{/)],
  [/\/v1\/audit\/checkpoint/, (out, port) => expect(out.split('\n')[0]).to.equal(`127.0.0.1:${port}/audit`)],
  [/^npx registo audit verify /, (out) => expect(out).to.match(/verified|ok/i)],
  [/^npx registo reconcile report .*--format csv/, (out) => expect(out.split(/\r?\n/)[0]).to.match(/^record,id,system,/)],
  [/^npx registo reconcile run /, (out) => expect(out).to.match(/^reconciled SIGA: \d+ identities/)],
  [/^npx registo sync redrive /, (out) => expect(out).to.match(/redriven|nothing/i)],
];

/**
 * Runs one documented "Try it" command (`command` is it with the reader's substitutions) and
 * checks it exits 0 and shows what `TRY_IT_SHOWS` says. A pipeline's status is its last
 * command's (`head -c` closing curl's pipe early is no failure); the output shows the first worked.
 */
export async function tryCommand(documented: string, command: string, dir: string, env: NodeJS.ProcessEnv): Promise<void> {
  const r = await shell(command, dir, env);
  expect(r.code, `${command}\n${r.stdout.slice(-1500)}\n${r.stderr.slice(-1500)}`).to.equal(0);
  const shows = TRY_IT_SHOWS.find(([pattern]) => pattern.test(documented));
  expect(shows, `no expectation for: ${documented}`).to.not.equal(undefined);
  shows![1](r.stdout, Number(env.PORT));
}

/**
 * The command as a reader who has another database named `registo` on the server types it:
 * the documented database name replaced by `name`, in postgres:// URLs (`…:5432/registo`) and
 * as the database argument ending a `createdb` / `dropdb` command. Nothing else changes.
 */
export function onDatabase(command: string, name: string): string {
  return command
    .replace(/\b(postgres(?:ql)?:\/\/[^\s/]+\/)registo\b/g, `$1${name}`)
    .replace(/^((?:createdb|dropdb)\b.*\s)registo\s*$/, `$1${name}`);
}
