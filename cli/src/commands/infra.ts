import type { Command } from 'commander';
import { type InfraStatus, ensureInfra, infraDown, infraStatus, infraUp } from '@registo/deploy';

function printStatus(s: InfraStatus): void {
  for (const c of s.components) {
    // "stopped" would be wrong when something else answers on the port: say who, and how to use it.
    if (!c.running && c.foreign) {
      const hint = c.reusable ? '; `registo infra up --reuse` uses it' : '';
      process.stdout.write(`${c.name}: ${c.foreign}${hint}\n          ${c.problem ?? ''}\n`);
      continue;
    }
    const state = c.running ? (c.ready ? 'running' : 'starting') : 'stopped';
    process.stdout.write(
      `${c.name.padEnd(9)} ${state.padEnd(8)} ${c.address.padEnd(40)} pid ${String(c.pid ?? '-').padEnd(7)} v${c.version}${c.rssMb ? `  ${c.rssMb} MiB` : ''}${c.problem ? `  (${c.problem})` : ''}\n          log ${c.logFile}\n`,
    );
  }
  process.stdout.write(`state ${s.stateDir}  cache ${s.cacheDir}\n`);
}

const progress = (m: string): void => void process.stderr.write(`infra: ${m}\n`);

export function registerInfra(program: Command): void {
  const infra = program
    .command('infra')
    .description('local Kafka (KRaft) and Apicurio schema registry, fetched from Maven Central, no Docker')
    .addHelpText(
      'after',
      `
Ports: Kafka 127.0.0.1:9092 (REGISTO_KAFKA_PORT), registry 127.0.0.1:8081 (REGISTO_REGISTRY_PORT),
Confluent-compatible API at /apis/ccompat/v7. Logs and pid files under .registo/ (REGISTO_STATE_DIR);
downloads cached in ~/.cache/registo (REGISTO_CACHE_DIR). The registry (Apicurio 3.3) needs Java 21+;
on a Java 17-only machine set REGISTO_REGISTRY_VERSION=3.0.9.`,
    );
  infra
    .command('up')
    .description('fetch (once) and start Kafka and the registry; waits until both answer; idempotent')
    .option('--reuse', 'use a Kafka broker and a registry that already answer on the ports (started by anyone); start only what does not answer')
    .action(async (o: { reuse?: boolean }) => {
      if (o.reuse) {
        // ensureInfra has started whatever did not answer; infraUp again would trip over the rest.
        const e = await ensureInfra({ onProgress: progress });
        if (!e.reused) printStatus(await infraStatus());
        return;
      }
      const r = await infraUp({ onProgress: progress });
      printStatus(r);
      process.stdout.write(`started: ${r.started.join(', ') || 'nothing'}; already running: ${r.alreadyRunning.join(', ') || 'nothing'}; ${(r.elapsedMs / 1000).toFixed(1)} s\n`);
    });
  infra
    .command('down')
    .description('stop what `infra up` started')
    .option('--purge', "also delete Kafka's data")
    .action(async (o: { purge?: boolean }) => {
      const r = await infraDown({ purge: o.purge === true, onProgress: progress });
      for (const c of r.components) process.stdout.write(`${c.name.padEnd(9)} ${c.result}${c.pid ? ` (pid ${c.pid})` : ''}\n`);
      if (r.purged.length > 0) process.stdout.write(`purged ${r.purged.join(', ')}\n`);
    });
  infra
    .command('status')
    .description('what runs where')
    .action(async () => printStatus(await infraStatus()));
}
