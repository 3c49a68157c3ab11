import type { Command } from 'commander';
import { type PlatformClientOptions, callPlatform, platformClientOptions } from '../platform-client.js';

interface ErasureAnswer {
  uin: string;
  position: number | null;
  enrollments: string[];
  templates: 'REMOVED' | 'NO_ABIS';
}

export function registerErase(program: Command): void {
  platformClientOptions(
    program
      .command('erase')
      .description("erase a person's data: destroy the subject's data keys, record SubjectKeyDestroyed (the log stays verifiable), remove the templates from the ABIS; POST /v1/identities/{uin}/erasure")
      .requiredOption('--uin <uin>', 'the identity to erase')
      .requiredOption('--legal-basis <text>', 'why: a court order, retention after death, ...')
      .option('--order-ref <ref>', 'reference of the legal order'),
  )
    .addHelpText(
      'after',
      `
Calls the running platform (embedded or not) at --url / REGISTO_URL with an operator token; the
platform destroys the keys and reaches the ABIS, and the token's operator is recorded in the event.
The key is destroyed first, then the event is appended, then the person's biometric templates
are removed from the ABIS; every step is idempotent, so if anything fails half-way
(ERASURE_INCOMPLETE), running the same command again completes it. Afterwards no copy of
the person's sealed data (event store, Kafka topics, backups) can be opened again.`,
    )
    .action(async (o: PlatformClientOptions & { uin: string; legalBasis: string; orderRef?: string }) => {
      const response = await callPlatform(o, 'POST', `/v1/identities/${encodeURIComponent(o.uin)}/erasure`, { legalBasis: o.legalBasis, ...(o.orderRef && { orderRef: o.orderRef }) });
      const r = (await response.json()) as ErasureAnswer;
      process.stdout.write(r.position !== null ? `erased ${r.uin}: subject key destroyed, SubjectKeyDestroyed at position ${r.position}\n` : `${r.uin} was already erased; the subject key is destroyed\n`);
      process.stdout.write(
        r.templates === 'REMOVED'
          ? `biometric templates removed from the ABIS (${r.enrollments.length} enrollment(s))\n`
          : `no ABIS configured (REGISTO_ABIS_URL): remove the templates of enrollments ${r.enrollments.join(', ')} there\n`,
      );
    });
}
