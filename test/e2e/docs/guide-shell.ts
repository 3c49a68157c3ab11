import { expect } from 'chai';
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { commandsOf, freePort, guideExamples, onPorts, readerCheckout } from '../../src/index.js';
import { exitOf, startCli } from '../cli/run-cli.js';

export const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');

/**
 * The project as a newcomer's checkout: every entry of the repository except its data directory,
 * so `./data` (the embedded default) is the test's own. Symlinks: the build and the installed
 * dependencies are the ones already here.
 */
function checkout(prefix = 'registo-readme-'): string {
  return readerCheckout(repo, prefix.replace(/^registo-/, '').replace(/-$/, ''));
}

export interface ShellResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * One bash, as a reader's terminal: the variables a guide's command sets (`B=…`, `U=…`) are there
 * for its next commands, and each command's output and exit status are its own.
 */
export class ReaderShell {
  private readonly bash: ChildProcess;
  private readonly files = mkdtempSync(join(tmpdir(), 'registo-shell-'));
  private count = 0;

  constructor(cwd: string, env: NodeJS.ProcessEnv) {
    this.bash = spawn('bash', ['--noprofile', '--norc'], { cwd, env, stdio: ['pipe', 'ignore', 'ignore'] });
  }

  async run(command: string, timeoutMs = 300_000): Promise<ShellResult> {
    const n = ++this.count;
    const file = (name: string): string => join(this.files, `${n}.${name}`);
    writeFileSync(file('sh'), `${command}\n`);
    // `source`, so that an assignment stays in this shell; stdin closed, so no command reads the script.
    this.bash.stdin!.write(`source ${file('sh')} > ${file('out')} 2> ${file('err')} < /dev/null; echo $? > ${file('rc.tmp')}; mv ${file('rc.tmp')} ${file('rc')}\n`);
    const deadline = Date.now() + timeoutMs;
    while (!existsSync(file('rc'))) {
      if (Date.now() > deadline || this.bash.exitCode !== null) throw new Error(`no answer from: ${command}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return { code: Number(readFileSync(file('rc'), 'utf8').trim()), stdout: readFileSync(file('out'), 'utf8'), stderr: readFileSync(file('err'), 'utf8') };
  }

  /** Ends the shell, and a command of it still running (a wait loop of a guide that failed). */
  close(): void {
    this.bash.stdin!.end();
    if (this.bash.exitCode === null) this.bash.kill('SIGKILL');
  }
}

/** What a documented command must show beyond exiting 0; `nth` counts earlier commands the same pattern matched. */
export type Expectation = (out: string, nth: number) => unknown;

/**
 * Runs every shell example of `guide` in order in `shell`, each command on the test's ports, and
 * checks each one's exit status and its expectation (the first pattern of `expected` that
 * matches the command as documented; a command none matches fails). Answers the examples the
 * guide marks as not to be run, for the test to report.
 */
export async function runGuide(
  guide: string,
  shell: ReaderShell,
  ports: Record<number, number>,
  expected: Array<[RegExp, Expectation]>,
): Promise<{ commands: number; skipped: string[] }> {
  const seen = new Map<RegExp, number>();
  const skipped: string[] = [];
  let commands = 0;
  for (const example of guideExamples(guide)) {
    if (example.notRun !== undefined) {
      skipped.push(`"${example.heading}": ${example.notRun}`);
      continue;
    }
    for (const documented of commandsOf(example.block)) {
      const command = onPorts(documented, ports);
      const r = await shell.run(command);
      expect(r.code, `${command}\n${r.stdout.slice(-1500)}\n${r.stderr.slice(-1500)}`).to.equal(0);
      const match = expected.find(([pattern]) => pattern.test(documented));
      expect(match, `no expectation for: ${documented}`).to.not.equal(undefined);
      const nth = seen.get(match![0]) ?? 0;
      seen.set(match![0], nth + 1);
      try {
        await match![1](r.stdout, nth);
      } catch (e) {
        throw new Error(`${documented}\n${(e as Error).message}\nstdout: ${r.stdout.slice(-1500)}\nstderr: ${r.stderr.slice(-1500)}`);
      }
      commands++;
    }
  }
  return { commands, skipped };
}

export interface GuidePlatform {
  /** The checkout the platform and the guide's commands run in (its `./data` is the platform's). */
  dir: string;
  url: string;
  /** The documented default ports (8080, SIGA 8091, Immigration 8092) mapped to this platform's. */
  ports: Record<number, number>;
  shell: ReaderShell;
  output: () => string;
  stop: () => Promise<void>;
}

/**
 * `registo start` (embedded, simulators, development tokens) in a fresh checkout on free ports,
 * and a reader's shell beside it in the same directory, the port variables set as a reader on
 * another port would set them.
 */
export async function startGuidePlatform(prefix: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<GuidePlatform> {
  const dir = checkout(prefix);
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const name of Object.keys(env)) if (/^(REGISTO_|DATABASE_URL|KAFKA_BROKERS|HOST$|PORT$)/.test(name)) delete env[name];
  const [port, siga, immigration, abis] = [await freePort(), await freePort(), await freePort(), await freePort()];
  Object.assign(env, { PORT: String(port), REGISTO_SIGA_PORT: String(siga), REGISTO_IMMIGRATION_PORT: String(immigration), REGISTO_ABIS_PORT: String(abis), ...extraEnv });
  const platform = await startCli(['start'], env, dir);
  const shell = new ReaderShell(dir, env);
  return {
    dir,
    url: platform.url,
    ports: { 8080: port, 8091: siga, 8092: immigration },
    shell,
    output: platform.output,
    stop: async () => {
      shell.close();
      if (platform.child.exitCode === null) {
        platform.child.kill('SIGINT');
        await exitOf(platform.child);
      }
    },
  };
}
