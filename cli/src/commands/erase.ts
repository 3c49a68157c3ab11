import type { Command } from 'commander';
import { AbisHttpConnector, SqlEventStore, SubjectSealer, loadConfig, openSqlDriver, type KeyWrapper, type RegistoConfig } from '@registo/infra';
import { DEFAULT_SERVICE_TOKEN } from '@registo/simulators';
import { handleCommand, identityDecider, identityStreamId, subjectIdFor } from '@registo/producers';
import { RegistoError } from '@registo/schemas';

/** Destroying keys needs no key-encryption key: refuse any attempt to use one here. */
const NO_WRAPPING: KeyWrapper = {
  kind: 'software',
  kekId: 'none',
  wrap: () => Promise.reject(new Error('erase never wraps keys')),
  unwrap: () => Promise.reject(new Error('erase never unwraps keys')),
};

/** The ABIS holding the person's templates: the configured one, or the embedded simulator. */
function abisOf(config: RegistoConfig): AbisHttpConnector | null {
  if (config.external) return new AbisHttpConnector({ baseUrl: config.external.abisUrl, token: config.external.token, timeoutMs: config.external.timeoutMs });
  if (config.simulators) return new AbisHttpConnector({ baseUrl: `http://127.0.0.1:${config.simulators.abisPort}`, token: DEFAULT_SERVICE_TOKEN, timeoutMs: 5_000 });
  return null;
}

export function registerErase(program: Command): void {
  program
    .command('erase')
    .description("erase a person's data: destroy the subject's data key and record SubjectKeyDestroyed (the log stays verifiable)")
    .requiredOption('--uin <uin>', 'the identity to erase')
    .requiredOption('--legal-basis <text>', 'why: a court order, retention after death, ...')
    .option('--order-ref <ref>', 'reference of the legal order')
    .option('--actor <id>', 'who orders the erasure (recorded in the event)', process.env.USER ?? 'operator')
    .addHelpText(
      'after',
      `
The key is destroyed first, then the event is appended, then the person's biometric templates
are removed from the ABIS; every step is idempotent, so if anything fails half-way, running
the same command again completes it. Afterwards no copy of
the person's sealed data (event store, Kafka topics, backups) can be opened again.`,
    )
    .action(async (o: { uin: string; legalBasis: string; orderRef?: string; actor: string }) => {
      const config = loadConfig();
      if (config.eventStore.kind === 'eventstoredb') throw new Error('erase keeps subject keys in SQL: set DATABASE_URL');
      const driver = await openSqlDriver(config.eventStore);
      const store = await SqlEventStore.open(driver);
      try {
        const history = await store.readStream(identityStreamId(o.uin));
        const created = history.find((e) => e.type === 'IdentityCreated');
        if (!created) throw new RegistoError('NOT_FOUND', `no identity ${o.uin}`, { uin: o.uin });
        const subjectId = (created.data.sealed as { subjectId: string }).subjectId;
        // Every enrollment of the person sealed its packet under a subject named after it
        // (update packets included): all of those keys go, not only the identity's.
        const enrollments = history.filter((e) => e.type === 'IdentityCreated' || e.type === 'IdentityUpdated').map((e) => subjectIdFor(e.data.regId as string));
        const sealer = await SubjectSealer.open(driver, NO_WRAPPING);
        for (const subject of new Set([subjectId, ...enrollments])) await sealer.destroy(subject);
        const result = await handleCommand(
          store,
          identityDecider,
          identityStreamId(o.uin),
          { type: 'DestroySubjectKey', uin: o.uin, subjectId, legalBasis: o.legalBasis, orderRef: o.orderRef ?? null },
          { metadata: { actor: { id: o.actor, role: 'data_protection_officer' } } },
        );
        const at = result.events[0]?.position;
        process.stdout.write(
          at ? `erased ${o.uin}: subject key destroyed, SubjectKeyDestroyed at position ${at}\n` : `${o.uin} was already erased; the subject key is destroyed\n`,
        );
        // The biometric templates live in the ABIS gallery, outside the log: remove them too.
        const abis = abisOf(config);
        const regIds = history.filter((e) => e.type === 'IdentityCreated' || e.type === 'IdentityUpdated').map((e) => e.data.regId as string);
        if (abis) {
          try {
            for (const regId of regIds) await abis.remove(regId);
            process.stdout.write(`biometric templates removed from the ABIS (${regIds.length} enrollment(s))\n`);
          } catch (e) {
            process.exitCode = 1;
            process.stderr.write(`the ABIS did not confirm removing the templates (${(e as Error).message}); run the same command again\n`);
          }
        } else {
          process.stdout.write('no ABIS configured (REGISTO_ABIS_URL): remove the templates of enrollments ' + regIds.join(', ') + ' there\n');
        }
      } finally {
        await store.close();
      }
    });
}
