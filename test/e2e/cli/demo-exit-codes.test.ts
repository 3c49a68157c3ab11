import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createTestDatabase, freePort, platformTestEnv, type TestDatabase } from '../../src/index.js';
import { type CliResult, exitOf, runCli, startCli } from './run-cli.js';

const TOKEN = 'demo-exit-client';

interface Summary {
  firstPeople: { citizen: number; foreigner: number };
  nextPeople: { citizen: number; foreigner: number };
  outcomes: Record<string, number>;
  submitted: { accepted: number; refused: number };
  surprises: Array<{ regId: string; kind: string; expected: string; got: string }>;
  verdict: { exitCode: number; says: string };
  hints: string[];
}

const summaryOf = (r: CliResult): Summary => JSON.parse(r.stdout.trim().split('\n').pop()!) as Summary;

/**
 * `registo demo` as a user runs it against `registo start` (PostgreSQL, simulators): its exit
 * code says whether every packet ended as expected, and a second run takes the next people of
 * the synthetic population (a run over the same people again is what ends otherwise).
 */
describe('registo demo: exit codes and the next people', function () {
  this.timeout(600_000);
  let db: TestDatabase;
  let env: NodeJS.ProcessEnv;
  let child: Awaited<ReturnType<typeof startCli>>['child'];
  let base: string;

  before(async () => {
    db = await createTestDatabase('registo_demo_exit');
    env = platformTestEnv({ databaseUrl: db.url, tokens: `${TOKEN}:registration-client-1:registration_client`, label: 'demo-exit' });
    ({ child, url: base } = await startCli(['start', '--port', '0'], env));
  });
  after(async () => {
    child?.kill('SIGTERM');
    if (child) expect(await exitOf(child)).to.equal(0);
    await db?.drop();
  });

  // Duplicates and foreigners in a small load, so that every kind of expectation is exercised.
  const demo = (extra: string[], e: NodeJS.ProcessEnv = env): Promise<CliResult> =>
    runCli(['demo', '--enrollments', '16', '--url', base, '--token', TOKEN, '--seed', '5', '--foreigners', '0.3', '--duplicates', '0.2', '--wait', '240', ...extra], e);

  it('two runs take different people and exit 0; the same people again exit 1, listing what differs and why', async () => {
    const first = await demo(['--json']);
    expect(first.code, first.stdout + first.stderr).to.equal(0);
    const one = summaryOf(first);
    expect(one.firstPeople).to.deep.equal({ citizen: 0, foreigner: 0 });
    expect(one.surprises).to.deep.equal([]);
    const cursor = JSON.parse(readFileSync(join(env.REGISTO_DATA_DIR!, 'demo', 'next-person.json'), 'utf8')) as Record<string, unknown>;
    expect(cursor[base]).to.include(one.nextPeople);

    const second = await demo(['--json']);
    expect(second.code, second.stdout + second.stderr).to.equal(0);
    const two = summaryOf(second);
    expect(two.firstPeople, 'the second run starts where the first stopped').to.deep.equal(one.nextPeople);
    expect(two.outcomes.APPROVED, 'new people are approved').to.be.greaterThan(0);

    // Starting over on a platform that enrolled them: every clean packet is a duplicate now.
    const again = await demo(['--start-over']);
    expect(again.code, again.stdout + again.stderr).to.equal(1);
    expect(again.stdout).to.include('people of the synthetic population: citizens from 0, foreigners from 0');
    expect(again.stdout).to.match(/packet\(s\) ended otherwise than expected/);
    const listed = again.stdout.split('\n').filter((l) => / expected [A-Z_]+, got [A-Z_]+$/.test(l));
    expect(listed.length).to.be.greaterThan(0);
    for (const line of listed) {
      const [, expected, got] = / expected ([A-Z_]+), got ([A-Z_]+)$/.exec(line)!;
      expect(got, line).to.not.equal(expected);
    }
    expect(listed.some((l) => l.endsWith('expected APPROVED, got IN_ADJUDICATION'))).to.equal(true);
  });

  it('exits 4 with packets still pending, 3 when the platform refuses the uploads, 2 when it cannot run', async () => {
    const pending = await demo(['--wait', '0', '--json']);
    expect(pending.code, pending.stdout + pending.stderr).to.equal(4);
    expect(summaryOf(pending).outcomes.PENDING).to.be.greaterThan(0);

    // Another key file: a device of a registration-client CA the platform does not trust.
    const refused = await demo(['--json'], { ...env, REGISTO_KEYS_FILE: join(env.REGISTO_DATA_DIR!, 'other-keys.json') });
    expect(refused.code, refused.stdout + refused.stderr).to.equal(3);
    const r = summaryOf(refused);
    expect(r.submitted.accepted).to.equal(0);
    expect(r.verdict.says).to.match(/refused at upload/);
    // It says why: the demo's registration-client CA is another key file's than the platform's.
    expect(r.hints.join('\n')).to.include('PACKET_SIGNER_UNTRUSTED').and.include(join(env.REGISTO_DATA_DIR!, 'other-keys.json'));

    const unreachable = await runCli(['demo', '--enrollments', '2', '--url', `http://127.0.0.1:${await freePort()}`], env);
    expect(unreachable.code, unreachable.stderr).to.equal(2);
    expect(unreachable.stderr).to.include('demo could not run');
    const usage = await runCli(['demo', '--enrollments', 'many'], env);
    expect(usage.code, usage.stderr).to.equal(2);
  });
});
