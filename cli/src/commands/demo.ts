import type { Command } from 'commander';
import { loadConfig } from '@registo/infra';
import { progress } from '../bench/report.js';
import { DEFAULT_MIX } from '../demo/packets.js';
import { runDemo } from '../demo/run-demo.js';
import { platformUrlOption } from './platform-url.js';

const share = (v: string): number => {
  const n = Number(v);
  if (!(n >= 0 && n <= 1)) throw new Error(`a share is between 0 and 1, not ${v}`);
  return n;
};

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('act as a registration client: upload realistic signed and encrypted packets and report what became of them')
    .requiredOption('--enrollments <n>', 'how many packets', (v) => Number.parseInt(v, 10))
    .addOption(platformUrlOption())
    .option('--token <token>', 'bearer token to read packet status', process.env.REGISTO_DEMO_TOKEN ?? 'dev-client')
    .option('--foreigners <share>', 'share of foreigners', share, DEFAULT_MIX.foreigners)
    .option('--discrepancies <share>', 'share disagreeing with the registry', share, DEFAULT_MIX.discrepancies)
    .option('--duplicates <share>', 'share enrolling someone again', share, DEFAULT_MIX.duplicates)
    .option('--invalid <share>', 'share refused at the door (low biometric quality)', share, DEFAULT_MIX.invalid)
    .option('--concurrency <n>', 'uploads in flight', (v) => Number.parseInt(v, 10), 16)
    .option('--seed <n>', 'same seed, same run', (v) => Number.parseInt(v, 10), 1)
    .option('--first-person <n>', 'first person of the synthetic population to enrol (use a new range for a second run)', (v) => Number.parseInt(v, 10), 0)
    .option('--wait <seconds>', 'how long to wait for outcomes', (v) => Number.parseInt(v, 10), 300)
    .option('--json', 'print the summary as JSON')
    .addHelpText(
      'after',
      `
Packets are for people of the simulators' synthetic population (seed 23912), so SIGA and
Immigration know them; the registration-client CA and the intake key come from the same key
file as \`registo start\` (REGISTO_KEYS_FILE, default ./data/keys/software-keys.json).
Example, with \`npm start\` running:  registo demo --enrollments 200`,
    )
    .action(async (o: { enrollments: number; url: string; token: string; foreigners: number; discrepancies: number; duplicates: number; invalid: number; concurrency: number; seed: number; firstPerson: number; wait: number; json?: boolean }) => {
      if (!(o.enrollments > 0)) throw new Error('--enrollments must be a positive number');
      const config = loadConfig();
      const up = progress('uploaded', o.enrollments);
      let settledBar: ReturnType<typeof progress> | undefined;
      const summary = await runDemo({
        url: o.url,
        token: o.token,
        keysFile: config.keysFile,
        enrollments: o.enrollments,
        mix: { foreigners: o.foreigners, discrepancies: o.discrepancies, duplicates: o.duplicates, invalid: o.invalid },
        concurrency: o.concurrency,
        seed: o.seed,
        firstPerson: o.firstPerson,
        timeoutMs: o.wait * 1000,
        onSubmitted: () => up.tick(),
        onSettled: (n) => {
          if (!settledBar) {
            up.stop();
            settledBar = progress('processed', o.enrollments);
          }
          settledBar.tick(n);
        },
      });
      up.stop();
      settledBar?.stop();
      if (o.json) {
        process.stdout.write(`${JSON.stringify(summary)}\n`);
        return;
      }
      const s = summary;
      const lines = [
        `${s.enrollments} packets in ${s.seconds.total.toFixed(1)} s (${s.perSecond.toFixed(1)} enrollments/s; uploads took ${s.seconds.submit.toFixed(1)} s)`,
        `  approved          ${s.outcomes.APPROVED}   (expected ${s.expected.APPROVED})`,
        `  in adjudication   ${s.outcomes.IN_ADJUDICATION}   (expected ${s.expected.IN_ADJUDICATION})`,
        `  rejected          ${s.outcomes.REJECTED + s.submitted.refused}   (refused at upload: ${s.submitted.refused}, expected ${s.expected.REFUSED}${Object.keys(s.submitted.refusedCodes).length ? `; ${Object.entries(s.submitted.refusedCodes).map(([k, v]) => `${k} ×${v}`).join(', ')}` : ''})`,
        ...(s.outcomes.PENDING ? [`  still processing  ${s.outcomes.PENDING}`] : []),
        s.surprises.length === 0 ? 'every packet ended as the generator expected' : `${s.surprises.length} packet(s) ended differently than expected, e.g. ${JSON.stringify(s.surprises.slice(0, 3))}`,
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
