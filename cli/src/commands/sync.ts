import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { Pkcs11KeyWrapper, SqlEventStore, SubjectSealer, loadConfig, loadPlatformKeys, openSqlDriver, type RegistoConfig, type SqlDriver, type SyncSystem } from '@registo/infra';
import { runReconciliation } from '@registo/consumers';
import { redriveSyncs } from '@registo/gateways';
import { SYNC_STATUS_DDL, reportCsv, syncReport } from '@registo/projections';
import { DEFAULT_SERVICE_TOKEN } from '@registo/simulators';
import { RegistoError } from '@registo/schemas';
import { progress } from '../bench/report.js';
import { openKeyWrapper } from '../platform.js';
import { syncPorts } from '../sync-wiring.js';

const SYSTEMS: Record<string, SyncSystem> = { siga: 'SIGA', immigration: 'IMMIGRATION' };

function systemOption(value: string | undefined, required: boolean): SyncSystem | undefined {
  if (value === undefined) {
    if (required) throw new RegistoError('REQUEST_INVALID', '--system siga|immigration is required');
    return undefined;
  }
  const s = SYSTEMS[value.toLowerCase()];
  if (!s) throw new RegistoError('REQUEST_INVALID', `--system must be siga or immigration, got ${value}`);
  return s;
}

/** SIGA and Immigration as `registo start` reaches them: configured, or the embedded simulators' ports. */
function externalOf(config: RegistoConfig): NonNullable<RegistoConfig['external']> {
  if (config.external) return config.external;
  if (config.simulators) {
    return { sigaUrl: `http://127.0.0.1:${config.simulators.sigaPort}`, immigrationUrl: `http://127.0.0.1:${config.simulators.immigrationPort}`, abisUrl: `http://127.0.0.1:${config.simulators.abisPort}`, token: DEFAULT_SERVICE_TOKEN, timeoutMs: config.externalTimeoutMs };
  }
  throw new RegistoError('CONFIG_INVALID', 'set REGISTO_SIGA_URL, REGISTO_IMMIGRATION_URL, REGISTO_ABIS_URL and REGISTO_EXTERNAL_TOKEN (or REGISTO_SIMULATORS=on)', { problems: ['external systems not configured'] });
}

async function openStore(): Promise<{ config: RegistoConfig; driver: SqlDriver; store: SqlEventStore }> {
  const config = loadConfig();
  if (config.eventStore.kind === 'eventstoredb') throw new RegistoError('CONFIG_INVALID', 'sync keeps its read models in SQL: set DATABASE_URL');
  const driver = await openSqlDriver(config.eventStore);
  return { config, driver, store: await SqlEventStore.open(driver) };
}

export function registerSync(program: Command): void {
  const sync = program.command('sync').description('external sync with SIGA and Immigration (docs/sync.md)');
  sync
    .command('redrive')
    .description('send dead-lettered syncs again: all of them, one system\'s, or one by id (a SyncRedriven event each)')
    .option('--system <system>', 'siga or immigration')
    .option('--id <syncId>', 'one sync, e.g. siga.0193…')
    .option('--actor <id>', 'who redrives (recorded in the events)', process.env.USER ?? 'operator')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', '\nThe running sync role performs each redriven sync with its original idempotency key, so nothing is applied twice.\nUses the same DATABASE_URL / REGISTO_DATA_DIR as `registo start`.')
    .action(async (o: { system?: string; id?: string; actor: string; json?: boolean }) => {
      const { driver, store } = await openStore();
      try {
        let bar: ReturnType<typeof progress> | undefined;
        let last = 0;
        const system = systemOption(o.system, false);
        const result = await redriveSyncs(store, driver, { ...(system && { system }), ...(o.id && { syncId: o.id }) }, { id: o.actor, role: 'operator' }, {
          onProgress: (done, total) => {
            bar ??= progress('redrive', total);
            bar.tick(done - last);
            last = done;
          },
        });
        bar?.stop();
        if (o.json) process.stdout.write(`${JSON.stringify(result)}\n`);
        else process.stdout.write(`redriven ${result.redriven.length} sync(s)${result.skipped.length ? `, skipped ${result.skipped.length}` : ''} (redrive ${result.redriveId})\n`);
      } finally {
        await store.close();
      }
    });

  const reconcile = program.command('reconcile').description('compare the register with SIGA\'s or Immigration\'s bulk export; report on sync (docs/sync.md)');
  reconcile
    .command('run')
    .description('one reconciliation run: each difference becomes a ReconciliationMismatchFound; rules resolve what they can')
    .requiredOption('--system <system>', 'siga or immigration')
    .option('--no-rules', 'record mismatches only; resolve nothing')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', '\nRules: the register decides statuses and presence (the system is sent them again); SIGA decides deaths; Immigration decides permits.\nEverything else waits for an operator: POST /v1/sync/mismatches/{id}/resolve.')
    .action(async (o: { system: string; rules: boolean; json?: boolean }) => {
      const system = systemOption(o.system, true)!;
      const { config, driver, store } = await openStore();
      const keys = await loadPlatformKeys(config.keysFile);
      const wrapper = await openKeyWrapper(config, keys.keyWrapper);
      try {
        const sealer = await SubjectSealer.open(driver, wrapper);
        const port = syncPorts(externalOf(config), config.sync)[system];
        let bar: ReturnType<typeof progress> | undefined;
        let last = 0;
        const result = await runReconciliation(system, { store, db: driver, sealer, port }, {
          resolveByRule: o.rules,
          actor: { id: process.env.USER ?? 'operator', role: 'operator' },
          onProgress: (done, total) => {
            bar ??= progress(`reconcile ${system}`, total);
            bar.tick(done - last);
            last = done;
          },
        });
        bar?.stop();
        const { differences, ...summary } = result;
        if (o.json) process.stdout.write(`${JSON.stringify({ ...summary, differences: differences.length })}\n`);
        else process.stdout.write(`reconciled ${system}: ${result.compared} identities, ${result.externalRecords} external records, ${differences.length} difference(s), ${result.recorded} newly recorded, ${result.resolvedByRule} resolved by rule, ${result.cleared} cleared (run ${result.runId})\n`);
      } finally {
        if (wrapper instanceof Pkcs11KeyWrapper) await wrapper.close();
        await store.close();
      }
    });
  reconcile
    .command('report')
    .description('pending, failed (with reason), dead-lettered and succeeded syncs (with timestamps) and open mismatches')
    .requiredOption('--system <system>', 'siga or immigration')
    .option('--format <format>', 'json or csv', 'json')
    .option('--out <file>', 'write to a file instead of stdout')
    .addHelpText('after', '\nThe same report is at GET /v1/sync/report?system=siga&format=csv (operator token). Personal values of mismatches stay sealed.')
    .action(async (o: { system: string; format: string; out?: string }) => {
      const system = systemOption(o.system, true)!;
      if (o.format !== 'json' && o.format !== 'csv') throw new RegistoError('REQUEST_INVALID', '--format must be json or csv');
      const { driver, store } = await openStore();
      try {
        await driver.migrate(SYNC_STATUS_DDL);
        const report = await syncReport(driver, system);
        const text = o.format === 'csv' ? reportCsv(report) : `${JSON.stringify(report, null, 2)}\n`;
        if (o.out) {
          writeFileSync(o.out, text);
          process.stderr.write(`report written to ${o.out}: ${JSON.stringify(report.totals)}\n`);
        } else process.stdout.write(text);
      } finally {
        await store.close();
      }
    });
}
