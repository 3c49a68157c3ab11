import { expect } from 'chai';
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { commandsOf, freePort, onPort, readerCheckout, readerEnv, shellBlocks } from '../../src/index.js';
import { run } from '../../src/support/processes.js';
import { repo } from './guide-shell.js';

const readme = join(repo, 'README.md');

/** What each "Try it" command must show, beyond exiting 0 (keyed by the command's start). */
const EXPECTED: Array<[RegExp, (out: string, port: number) => void]> = [
  [/^npx registo demo /, (out) => expect(out).to.match(/approved/i)],
  [/\/v1\/adjudications/, (out) => expect(out).to.match(/^\{"items":\[/)],
  [/\/v1\/print-orders/, (out) => expect(out).to.match(/^\{/)],
  [/\/v1\/audit\/checkpoint/, (out, port) => expect(out.split('\n')[0]).to.equal(`127.0.0.1:${port}/audit`)],
  [/^npx registo audit verify /, (out) => expect(out).to.match(/verified|ok/i)],
  [/^npx registo reconcile report .*--format csv/, (out) => expect(out.split(/\r?\n/)[0]).to.match(/^record,id,system,/)],
  [/^npx registo reconcile run /, (out) => expect(out).to.match(/^reconciled SIGA: \d+ identities/)],
  [/^npx registo sync redrive /, (out) => expect(out).to.match(/redriven|nothing/i)],
];

describe("README: the quick start and \"Try it\", as written, on ports other than the defaults", function () {
  this.timeout(600_000);
  let dir: string;
  let platform: ChildProcess | undefined;
  let output = '';
  const env: NodeJS.ProcessEnv = readerEnv();

  before(async () => {
    dir = readerCheckout(repo, 'readme');
    // Another Registo holds the default ports on this machine: only the port variables change.
    Object.assign(env, {
      PORT: String(await freePort()),
      REGISTO_SIGA_PORT: String(await freePort()),
      REGISTO_IMMIGRATION_PORT: String(await freePort()),
      REGISTO_ABIS_PORT: String(await freePort()),
    });
  });
  after(async () => {
    // Whatever of the group is left if the test failed half-way (none when it passed).
    if (platform?.pid !== undefined) {
      try {
        process.kill(-platform.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });

  it('npm start runs the platform; every "Try it" command works beside it and shows what the README says', async () => {
    const [quickStart] = shellBlocks(readme, 'Quick start');
    const [startCommand] = commandsOf(quickStart!);
    // `npm ci` is what the suite's own install just did; the platform part runs as written.
    expect(startCommand).to.equal('npm ci && npm start');
    platform = spawn('npm', ['start'], { cwd: dir, env, detached: true });
    platform.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    platform.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const port = Number(env.PORT);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`npm start not ready after 180 s:\n${output.slice(-3000)}`)), 180_000);
      const check = setInterval(() => {
        if (output.includes(`ready on http://127.0.0.1:${port}`)) {
          clearInterval(check);
          clearTimeout(timer);
          resolve();
        }
      }, 100);
      platform!.once('exit', (code) => reject(new Error(`npm start exited with ${code}:\n${output.slice(-3000)}`)));
    });

    const [tryIt] = shellBlocks(readme, 'Try it');
    const commands = commandsOf(tryIt!);
    expect(commands.length, 'commands in "Try it"').to.be.greaterThan(5);
    for (const documented of commands) {
      const command = onPort(documented, port);
      // As a reader's shell runs it: a pipeline's status is its last command's (`head -c` closing
      // curl's pipe early is no failure); the expected output shows the first command worked.
      const r = await run('bash', ['-c', command], { cwd: dir, env, timeoutMs: 300_000 });
      expect(r.code, `${command}\n${r.stdout.slice(-1500)}\n${r.stderr.slice(-1500)}`).to.equal(0);
      const expected = EXPECTED.find(([pattern]) => pattern.test(documented));
      expect(expected, `no expectation for: ${documented}`).to.not.equal(undefined);
      expected![1](r.stdout, port);
    }

    // Ctrl-C in the reader's terminal signals the whole foreground group: npm, its shell, registo.
    process.kill(-platform.pid!, 'SIGINT');
    await new Promise<void>((r) => (platform!.exitCode !== null || platform!.signalCode !== null ? r() : platform!.once('exit', () => r())));
    await new Promise((r) => setTimeout(r, 500));
    expect(output, 'registo stops cleanly').to.include('registo stopped');
  });
});
