import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { RegistoError } from '@registo/schemas';
import { type PlatformClientOptions, callPlatform, platformClientOptions } from '../platform-client.js';

const SYSTEMS = ['siga', 'immigration'];

function systemOption(value: string | undefined, required: boolean): string | undefined {
  if (value === undefined) {
    if (required) throw new RegistoError('REQUEST_INVALID', '--system siga|immigration is required');
    return undefined;
  }
  const s = value.toLowerCase();
  if (!SYSTEMS.includes(s)) throw new RegistoError('REQUEST_INVALID', `--system must be siga or immigration, got ${value}`);
  return s;
}

const CLIENT_HELP = '\nCalls the running platform (embedded or not) at --url / REGISTO_URL with an operator token; nothing is opened here.';

export function registerSync(program: Command): void {
  const sync = program.command('sync').description('external sync with SIGA and Immigration (docs/sync.md)');
  platformClientOptions(
    sync
      .command('redrive')
      .description('send dead-lettered syncs again: all of them, one system\'s, or one by id (a SyncRedriven event each); POST /v1/sync/redrive')
      .option('--system <system>', 'siga or immigration')
      .option('--id <syncId>', 'one sync, e.g. siga.0193…')
      .option('--json', 'print the result as JSON'),
  )
    .addHelpText('after', `${CLIENT_HELP}\nThe running sync role performs each redriven sync with its original idempotency key, so nothing is applied twice; the token's operator is recorded in the events.`)
    .action(async (o: PlatformClientOptions & { system?: string; id?: string; json?: boolean }) => {
      const system = systemOption(o.system, false);
      const response = await callPlatform(o, 'POST', '/v1/sync/redrive', { ...(system && { system }), ...(o.id && { syncId: o.id }) });
      const result = (await response.json()) as { redriveId: string; redriven: string[]; skipped: unknown[] };
      if (o.json) process.stdout.write(`${JSON.stringify(result)}\n`);
      else process.stdout.write(`redriven ${result.redriven.length} sync(s)${result.skipped.length ? `, skipped ${result.skipped.length}` : ''} (redrive ${result.redriveId})\n`);
    });

  const reconcile = program.command('reconcile').description('compare the register with SIGA\'s or Immigration\'s bulk export; report on sync (docs/sync.md)');
  platformClientOptions(
    reconcile
      .command('run')
      .description('one reconciliation run: each difference becomes a ReconciliationMismatchFound; rules resolve what they can; POST /v1/sync/reconciliations')
      .requiredOption('--system <system>', 'siga or immigration')
      .option('--no-rules', 'record mismatches only; resolve nothing')
      .option('--json', 'print the result as JSON'),
  )
    .addHelpText('after', `${CLIENT_HELP}\nRules: the register decides statuses and presence (the system is sent them again); SIGA decides deaths; Immigration decides permits.\nEverything else waits for an operator: POST /v1/sync/mismatches/{id}/resolve.`)
    .action(async (o: PlatformClientOptions & { system: string; rules: boolean; json?: boolean }) => {
      const system = systemOption(o.system, true)!;
      const response = await callPlatform(o, 'POST', '/v1/sync/reconciliations', { system, rules: o.rules });
      const r = (await response.json()) as { runId: string; system: string; compared: number; externalRecords: number; differences: number; recorded: number; resolvedByRule: number; cleared: number };
      if (o.json) process.stdout.write(`${JSON.stringify(r)}\n`);
      else process.stdout.write(`reconciled ${r.system}: ${r.compared} identities, ${r.externalRecords} external records, ${r.differences} difference(s), ${r.recorded} newly recorded, ${r.resolvedByRule} resolved by rule, ${r.cleared} cleared (run ${r.runId})\n`);
    });
  platformClientOptions(
    reconcile
      .command('report')
      .description('pending, failed (with reason), dead-lettered and succeeded syncs (with timestamps) and open mismatches; GET /v1/sync/report')
      .requiredOption('--system <system>', 'siga or immigration')
      .option('--format <format>', 'json or csv', 'json')
      .option('--out <file>', 'write to a file instead of stdout'),
  )
    .addHelpText('after', `${CLIENT_HELP}\nPersonal values of mismatches stay sealed.`)
    .action(async (o: PlatformClientOptions & { system: string; format: string; out?: string }) => {
      const system = systemOption(o.system, true)!;
      if (o.format !== 'json' && o.format !== 'csv') throw new RegistoError('REQUEST_INVALID', '--format must be json or csv');
      const response = await callPlatform(o, 'GET', `/v1/sync/report?system=${system}&format=${o.format}`);
      const body = await response.text();
      const text = o.format === 'csv' ? body : `${JSON.stringify(JSON.parse(body), null, 2)}\n`;
      if (o.out) {
        writeFileSync(o.out, text);
        process.stderr.write(`report written to ${o.out}${o.format === 'json' ? `: ${JSON.stringify((JSON.parse(body) as { totals: unknown }).totals)}` : ''}\n`);
      } else process.stdout.write(text);
    });
}
