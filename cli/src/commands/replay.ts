import type { Command } from 'commander';
import { SqlEventStore, openSqlDriver } from '@registo/event-store';
import { loadConfig } from '@registo/config';
import { PROJECTIONS, replayProjection } from '@registo/projections';
import { progress } from '../bench/report.js';

export function registerReplay(program: Command): void {
  program
    .command('replay')
    .description('rebuild a read model from the event store (its rows are dropped and recomputed)')
    .requiredOption('--projection <name>', `one of: ${Object.keys(PROJECTIONS).join(', ')}`)
    .option('--batch-size <n>', 'events per transaction', '2000')
    .addHelpText(
      'after',
      `
Opens the store itself, with the same DATABASE_URL / REGISTO_DATA_DIR as \`registo start\`.
Embedded (PGlite): needs the platform stopped; while it runs, its data directory is refused
(DATA_DIR_LOCKED). On PostgreSQL it runs beside the platform: consumers skip what replay applied.`,
    )
    .action(async (opts: { projection: string; batchSize: string }) => {
      const handler = PROJECTIONS[opts.projection];
      if (!handler) throw new Error(`unknown projection '${opts.projection}'; known: ${Object.keys(PROJECTIONS).join(', ')}`);
      const config = loadConfig();
      if (config.eventStore.kind === 'eventstoredb') throw new Error('replay keeps read models in SQL: set DATABASE_URL');
      const driver = await openSqlDriver(config.eventStore);
      const store = await SqlEventStore.open(driver);
      const head = await store.headPosition();
      const bar = progress(`replay ${opts.projection}`, head);
      let last = 0;
      const started = performance.now();
      try {
        const r = await replayProjection(store, driver, handler, {
          batchSize: Number(opts.batchSize),
          onProgress: (done) => {
            bar.tick(done - last);
            last = done;
          },
        });
        bar.stop();
        const seconds = (performance.now() - started) / 1000;
        process.stdout.write(`replayed ${opts.projection}: ${r.events} events up to position ${r.head} in ${seconds.toFixed(1)} s\n`);
      } finally {
        await store.close();
      }
    });
}
