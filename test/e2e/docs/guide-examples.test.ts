import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, handPlaceholder, onPort, readerCheckout, readerEnv, runInOneShell, shellExamples } from '../../src/index.js';
import type { RunResult } from '../../src/support/processes.js';
import { exitOf, runCli, startCli } from '../cli/run-cli.js';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');

interface Reader {
  port: number;
  /** The reader's checkout, where the examples run: `./data` is the platform's data dir. */
  dir: string;
}

/**
 * What an example must show, matched to the command as the guide writes it (the first pattern
 * that matches). `exit` is 0 unless the guide shows a failure. A command no pattern matches fails
 * the test: a new example needs a new check.
 */
interface Expectation {
  command: RegExp;
  exit?: number;
  shows: (r: RunResult, reader: Reader) => void;
}

/** Commands of a guide this test does not run itself, and what stands in for them. */
type Replaced = Record<string, string>;

const json = (r: RunResult): Record<string, unknown> => JSON.parse(r.stdout) as Record<string, unknown>;
const silent = (r: RunResult): void => {
  expect(r.stdout, 'no output').to.equal('');
};
/** The export the guide saved, line `n` (1-based). */
const exportLine = (reader: Reader, n: number): { hash: string; leafHash: string } => JSON.parse(readFileSync(join(reader.dir, 'export.ndjson'), 'utf8').split('\n')[n - 1]!);

/** Whether the guide's erasure has run yet: the identity is shown before and after it. */
let erasedYet = false;
const LIFECYCLE: Expectation[] = [
  { command: /^npx registo demo --enrollments 200$/, shows: (r) => expect(r.stdout).to.include('every packet ended as the generator expected') },
  { command: /^curl .*\/v1\/adjudications$/, shows: (r) => expect(json(r).items).to.be.an('array').that.is.not.empty },
  { command: /^ID=\$\(curl .*\/v1\/adjudications\?status=OPEN&limit=1/, shows: silent },
  { command: /^curl .*\/v1\/adjudications\/\$ID$/, shows: (r) => expect(json(r)).to.include({ status: 'OPEN' }).and.to.have.property('applicant') },
  { command: /^curl .*"decision":"APPROVE".*\/v1\/adjudications\/\$ID\/decision$/, shows: (r) => expect(json(r)).to.include({ decision: 'APPROVE', adjudicatorId: 'adjudicator-1' }) },
  { command: /^REG=\$\(curl .*\/v1\/adjudications\/\$ID \| jq -r \.regId\)$/, shows: silent },
  { command: /^curl .*\/v1\/packets\/\$REG$/, shows: (r) => expect(json(r).regId).to.match(/^10031-/) },
  { command: /^UIN=\$\(curl .*\/v1\/adjudications\?status=OPEN&limit=100' \| jq -r '\[\.items\[\]\.candidates\[\] \| select\(test\("\^\[0-9\]\+\$"\)\)\]\[0\]'\)$/, shows: silent },
  // The same request before and after the erasure (the first match is the first of the two).
  { command: /^curl .*\/v1\/identities\/\$UIN$/, shows: (r) => expect(json(r)).to.include({ erased: erasedYet }) },
  { command: /^npx registo erase --uin \$UIN /, shows: (r) => {
    expect(r.stdout).to.match(/^erased \d+: subject key destroyed, SubjectKeyDestroyed at position \d+\nbiometric templates removed from the ABIS/);
    erasedYet = true;
  } },
];
const LIFECYCLE_REPLACED: Replaced = { 'npm start &': 'the platform this test started (`registo start`, what `npm start` runs after building)' };

const AUDIT: Expectation[] = [
  // The leaf by hand: the hashes it prints are the export line's own.
  { command: /^curl .*\/v1\/audit\/export\?from=1&to=5000' > export\.ndjson$/, shows: silent },
  { command: /^line=\$\(sed -n 2p export\.ndjson\)$/, shows: silent },
  { command: /^printf '%s' "\$\{line#\*/, shows: silent },
  { command: /^sha256sum leaf\.bin$/, shows: (r, reader) => expect(r.stdout.split(' ')[0]).to.equal(exportLine(reader, 2).hash) },
  { command: /^\{ printf '\\000'; cat leaf\.bin; \} \| sha256sum$/, shows: (r, reader) => expect(r.stdout.split(' ')[0]).to.equal(exportLine(reader, 2).leafHash) },
  // The auditor API.
  { command: /^curl -s localhost:8080\/v1\/audit\/checkpoint$/, shows: (r, reader) => expect(r.stdout.split('\n')[0]).to.equal(`127.0.0.1:${reader.port}/audit`) },
  { command: /^curl -s localhost:8080\/v1\/audit\/checkpoints\/latest$/, shows: (r) => expect(json(r)).to.include.keys('treeSize', 'rootHash', 'position', 'signedAt', 'note', 'timestampToken') },
  { command: /^SIZE=\$\(curl .*checkpoints\/latest \| jq \.treeSize\)$/, shows: silent },
  { command: /\/v1\/audit\/checkpoints\?fromSize=1&toSize=\$SIZE/, shows: (r) => expect(json(r).items).to.be.an('array').that.is.not.empty },
  { command: /\/v1\/audit\/proofs\/inclusion\?position=42&treeSize=\$SIZE/, shows: (r) => expect(json(r)).to.include({ position: 42, leafIndex: 41 }).and.to.have.property('proof') },
  { command: /\/v1\/audit\/proofs\/consistency\?from=100&to=\$SIZE/, shows: (r) => expect(json(r)).to.include({ from: 100 }).and.to.have.property('proof') },
  { command: /^curl -s localhost:8080\/v1\/audit\/keys$/, shows: (r) => expect((json(r).checkpoint as Record<string, unknown>).signatureType).to.equal(2) },
  { command: /^curl -s localhost:8080\/v1\/audit\/checkpoints\/\$SIZE$/, shows: (r) => expect(json(r)).to.have.property('cosignatures') },
  { command: /\/v1\/audit\/health$/, shows: (r) => expect(json(r)).to.include({ status: 'ok', firstBadPosition: null }) },
  // By hand with openssl (test/e2e/cli/audit-recipes.test.ts also runs it while checkpoints are being signed).
  { command: /^curl -s localhost:8080\/v1\/audit\/checkpoints\/latest > checkpoint\.json$/, shows: silent },
  { command: /^curl -s localhost:8080\/v1\/audit\/keys > keys\.json$/, shows: silent },
  { command: /^(jq|awk|grep) .* > [\w.]+$/, shows: silent },
  { command: /^openssl dgst -sha256 -verify /, shows: (r) => expect(r.stdout).to.equal('Verified OK\n') },
  { command: /^openssl ts -verify /, shows: (r) => expect(r.stdout).to.equal('Verification: OK\n') },
  // `registo audit verify`.
  { command: /^npx registo audit verify /, shows: (r) => expect(r.stdout).to.match(/^OK: positions 1–\d+/) },
];

/**
 * Runs every ```sh example of the guide in order in one shell in the reader's checkout, with the
 * documented port replaced by the platform's, and checks each command.
 */
async function follow(guide: string, expectations: Expectation[], replaced: Replaced, reader: () => Reader): Promise<void> {
  const examples = shellExamples(guide);
  const commands = examples.filter((e) => e.notRun === undefined).flatMap((e) => e.commands);
  const written = commands.filter((c) => replaced[c] === undefined);
  for (const c of written) {
    expect(handPlaceholder(c), `a placeholder to fill by hand in: ${c}`).to.equal(undefined);
    expect(expectations.find((e) => e.command.test(c)), `no expectation for: ${c}`).to.not.equal(undefined);
  }
  const { port, dir } = reader();
  const env = { ...readerEnv(), PORT: String(port) };
  const results = await runInOneShell(written.map((c) => onPort(c, port)), { cwd: dir, env, timeoutMs: 900_000 });
  written.forEach((c, i) => {
    const r = results[i];
    expect(r, `${c}: not run, the shell stopped before it`).to.not.equal(undefined);
    const expected = expectations.find((e) => e.command.test(c))!;
    const shown = `${c}\n${r!.stdout.slice(-1500)}\n${r!.stderr.slice(-1500)}`;
    expect(r!.code, shown).to.equal(expected.exit ?? 0);
    try {
      expected.shows(r!, reader());
    } catch (e) {
      throw new Error(`${shown}\n${(e as Error).message}`);
    }
  });
}

/** What the test title says it leaves out, so the run shows it. */
function leftOut(guide: string, replaced: Replaced): string {
  const examples = shellExamples(guide);
  const notRun = examples.filter((e) => e.notRun !== undefined).map((e) => `line ${e.line} (${e.heading}): ${e.notRun}`);
  const stand = Object.entries(replaced).map(([c, by]) => `\`${c}\` is ${by}`);
  return `${notRun.length} block(s) not run${notRun.length ? `: ${notRun.join('; ')}` : ''}${stand.length ? `; ${stand.join('; ')}` : ''}`;
}

const LIFECYCLE_MD = join(repo, 'docs', 'identity-lifecycle.md');
const AUDIT_MD = join(repo, 'docs', 'audit.md');

describe('the guides\' shell examples, as written, against `registo start` on other ports', function () {
  this.timeout(1_200_000);
  let reader: Reader;
  let child: Awaited<ReturnType<typeof startCli>>['child'] | undefined;

  before(async () => {
    const dir = readerCheckout(repo, 'guides');
    const port = await freePort();
    // The embedded platform of a checkout: ./data, PGlite, the simulators on ports of their own.
    ({ child } = await startCli(['start'], {
      ...readerEnv(),
      PORT: String(port),
      REGISTO_DATA_DIR: join(dir, 'data'),
      REGISTO_SIGA_PORT: '0',
      REGISTO_IMMIGRATION_PORT: '0',
      REGISTO_ABIS_PORT: '0',
    }));
    reader = { port, dir };
  });
  after(async () => {
    child?.kill('SIGTERM');
    if (child) expect(await exitOf(child)).to.equal(0);
  });

  describe('docs/identity-lifecycle.md', () => {
    it(`every example runs and shows what the guide says (${leftOut(LIFECYCLE_MD, LIFECYCLE_REPLACED)})`, async () => {
      erasedYet = false;
      await follow(LIFECYCLE_MD, LIFECYCLE, LIFECYCLE_REPLACED, () => reader);
    });
  });

  describe('docs/audit.md', () => {
    before(async () => {
      // Data of its own, whatever ran before: a demo load, then a checkpoint over it.
      const demo = await runCli(['demo', '--enrollments', '20', '--url', `http://127.0.0.1:${reader.port}`], { ...readerEnv(), REGISTO_DATA_DIR: join(reader.dir, 'data') });
      expect(demo.code, demo.stdout + demo.stderr).to.equal(0);
      const head = async (): Promise<number> => {
        const r = await fetch(`http://127.0.0.1:${reader.port}/v1/audit/checkpoints/latest`);
        return r.ok ? ((await r.json()) as { treeSize: number }).treeSize : 0;
      };
      // The examples ask for proofs from position 100 on.
      for (let tries = 0; (await head()) < 100; tries++) {
        expect(tries, `a checkpoint over 100 events within 60 s (latest: ${await head()})`).to.be.lessThan(600);
        await new Promise((r) => setTimeout(r, 100));
      }
    });

    it(`every example runs and shows what the guide says (${leftOut(AUDIT_MD, {})})`, async () => {
      await follow(AUDIT_MD, AUDIT, {}, () => reader);
    });
  });
});
