import { type Command, InvalidArgumentError } from 'commander';
import { loadConfig } from '@registo/config';
import { progress } from '../bench/report.js';
import { nextPersonFile, readNextPeople, saveNextPeople } from '../demo/next-person.js';
import { DEFAULT_MIX } from '../demo/packets.js';
import { runDemo } from '../demo/run-demo.js';
import { DEMO_EXIT } from '../demo/verdict.js';
import { failuresExitWith, usageErrorsExitWith } from './failure-exit-code.js';
import { platformUrlOption } from '../platform-client.js';

const share = (v: string): number => {
  const n = Number(v);
  if (!(v.trim() !== '' && n >= 0 && n <= 1)) throw new InvalidArgumentError(`a share is between 0 and 1, not ${v}`);
  return n;
};

const whole = (min: number) => (v: string): number => {
  if (!/^[0-9]{1,9}$/.test(v) || Number(v) < min) throw new InvalidArgumentError(`a whole number ≥ ${min}`);
  return Number(v);
};

/** How many differences the text report lists (`--json` has them all). */
const LISTED = 10;

/** What `registo demo` is given, after commander has parsed it. */
interface DemoOptions {
  enrollments: number;
  url: string;
  token: string;
  foreigners: number;
  discrepancies: number;
  duplicates: number;
  invalid: number;
  concurrency: number;
  seed: number;
  firstPerson?: number;
  startOver?: boolean;
  wait: number;
  json?: boolean;
}

const HELP_AFTER = `
Packets are for people of the simulators' synthetic population (seed 23912), so SIGA and
Immigration know them; the registration-client CA and the intake key come from the same key
file as \`registo start\` (REGISTO_KEYS_FILE, default ./data/keys/software-keys.json): run it with
the platform's REGISTO_DATA_DIR, or every upload is refused with PACKET_SIGNER_UNTRUSTED.
Each run takes the next people: where the last run on the same --url stopped is kept in
<REGISTO_DATA_DIR>/demo/next-person.json (a person enrolled again is a duplicate, with an
officer, not approved). --start-over or --first-person choose the people instead.

Exit codes (the first that applies, in this order):
  ${DEMO_EXIT.couldNotRun}  could not run: bad usage, the platform not reachable, keys unreadable, nobody left to enrol
  ${DEMO_EXIT.refused}  the platform refused uploads it should have taken (an untrusted device, another intake key, ...)
  ${DEMO_EXIT.unexpected}  some packets ended otherwise than expected (listed)
  ${DEMO_EXIT.stillPending}  some packets were still pending when --wait ran out
  ${DEMO_EXIT.asExpected}  every packet ended as expected
Example, with \`npm start\` running:  registo demo --enrollments 200`;

export function registerDemo(program: Command): void {
  const command = program
    .command('demo')
    .description('act as a registration client: upload realistic signed and encrypted packets and report what became of them')
    .requiredOption('--enrollments <n>', 'how many packets', whole(1))
    .addOption(platformUrlOption())
    .option('--token <token>', 'bearer token to read packet status', process.env.REGISTO_DEMO_TOKEN ?? 'dev-client')
    .option('--foreigners <share>', 'share of foreigners', share, DEFAULT_MIX.foreigners)
    .option('--discrepancies <share>', 'share disagreeing with the registry', share, DEFAULT_MIX.discrepancies)
    .option('--duplicates <share>', 'share enrolling someone again', share, DEFAULT_MIX.duplicates)
    .option('--invalid <share>', 'share refused at the door (low biometric quality)', share, DEFAULT_MIX.invalid)
    .option('--concurrency <n>', 'uploads in flight', whole(1), 16)
    .option('--seed <n>', 'same seed, same run', whole(0), 1)
    .option('--first-person <n>', 'first citizen and foreigner of the synthetic population to enrol (default: the first ones no earlier run enrolled on this --url)', whole(0))
    .option('--start-over', 'enrol from the first person of the population again (a platform on a fresh database)')
    .option('--wait <seconds>', 'how long to wait for outcomes', whole(0), 300)
    .option('--json', 'print the summary as JSON')
    .addHelpText('after', HELP_AFTER)
    .action(failuresExitWith(DEMO_EXIT.couldNotRun, 'demo could not run', demo));
  usageErrorsExitWith(command, DEMO_EXIT.couldNotRun);
}

type People = { citizen: number; foreigner: number };
type Summary = Awaited<ReturnType<typeof runDemo>>;

/** Where this run starts in the synthetic population: as asked, from the start, or where the last run on `url` stopped. */
async function firstPeople(o: DemoOptions, cursorFile: string, url: string): Promise<People> {
  if (o.firstPerson !== undefined) return { citizen: o.firstPerson, foreigner: o.firstPerson };
  return o.startOver ? { citizen: 0, foreigner: 0 } : readNextPeople(cursorFile, url);
}

async function demo(o: DemoOptions): Promise<void> {
  const config = loadConfig();
  const url = o.url.replace(/\/$/, '');
  const cursorFile = nextPersonFile(config.dataDir);
  const first = await firstPeople(o, cursorFile, url);
  const up = progress('uploaded', o.enrollments);
  let settledBar: ReturnType<typeof progress> | undefined;
  const summary = await runDemo({
    url,
    token: o.token,
    keysFile: config.keysFile,
    enrollments: o.enrollments,
    mix: { foreigners: o.foreigners, discrepancies: o.discrepancies, duplicates: o.duplicates, invalid: o.invalid },
    concurrency: o.concurrency,
    seed: o.seed,
    firstPerson: first.citizen,
    firstForeigner: first.foreigner,
    timeoutMs: o.wait * 1000,
    onSubmitted: () => up.tick(),
    onUploaded: (next) => saveNextPeople(cursorFile, url, next, { keepFurther: o.firstPerson !== undefined }),
    onSettled: (n) => {
      if (!settledBar) {
        up.stop();
        settledBar = progress('processed', o.enrollments);
      }
      settledBar.tick(n);
    },
  }).catch((e: unknown) => {
    // The factory ran out of people (RangeError): say why and what to do.
    if (e instanceof RangeError) throw new Error(`nobody left to enrol: ${e.message}, and this run starts at citizen ${first.citizen} (runs on ${url} go on where the last one stopped, ${cursorFile}); pass --start-over against a platform on a fresh database`);
    throw e;
  });
  up.stop();
  settledBar?.stop();
  process.exitCode = summary.verdict.exitCode;
  process.stdout.write(o.json ? `${JSON.stringify({ ...summary, firstPeople: first })}\n` : `${textReport(summary, first).join('\n')}\n`);
}

/** The summary for people: counts beside what was expected, the verdict, the first differences. */
function textReport(s: Summary, first: People): string[] {
  const more = s.surprises.length - LISTED;
  const refusedCodes = Object.entries(s.submitted.refusedCodes).map(([k, v]) => `${k} ×${v}`).join(', ');
  return [
    `people of the synthetic population: citizens from ${first.citizen}, foreigners from ${first.foreigner}; the next run starts at citizen ${s.nextPeople.citizen}, foreigner ${s.nextPeople.foreigner}`,
    `${s.enrollments} packets in ${s.seconds.total.toFixed(1)} s (${s.perSecond.toFixed(1)} enrollments/s; uploads took ${s.seconds.submit.toFixed(1)} s)`,
    `  approved          ${s.outcomes.APPROVED}   (expected ${s.expected.APPROVED})`,
    `  in adjudication   ${s.outcomes.IN_ADJUDICATION}   (expected ${s.expected.IN_ADJUDICATION})`,
    `  rejected          ${s.outcomes.REJECTED + s.submitted.refused}   (refused at upload: ${s.submitted.refused}, expected ${s.expected.REFUSED}${refusedCodes ? `; ${refusedCodes}` : ''})`,
    ...(s.outcomes.PENDING ? [`  still processing  ${s.outcomes.PENDING}`] : []),
    s.verdict.says,
    ...s.surprises.slice(0, LISTED).map((d) => `  ${d.regId} (${d.kind}): expected ${d.expected}, got ${d.got}`),
    ...(more > 0 ? [`  … and ${more} more (--json lists every one)`] : []),
    ...s.hints,
  ];
}
