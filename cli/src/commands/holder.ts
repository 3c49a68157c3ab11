import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { HOLDER_PROOF_HEADER, signHolderProof } from '@registo/credentials';

/**
 * `registo holder proof`: what a card or wallet does for each holder-channel request, for
 * trying the holder binding by hand (docs/credentials.md). The key never leaves the file.
 */
export function registerHolder(program: Command): void {
  const holder = program.command('holder').description("a holder's side of the holder channel");
  holder
    .command('proof')
    .description(`print a ${HOLDER_PROOF_HEADER} value (ES256 JWT) for one request, signed with the holder's P-256 key`)
    .requiredOption('--key <file>', "the holder's private key (PEM, P-256: the key whose CSR was certified)")
    .requiredOption('--uin <uin>', 'the holder the request acts for')
    .requiredOption('--path <path>', 'the request path, without the query (e.g. /v1/holders/<uin>/credentials)')
    .option('--method <method>', 'the HTTP method', 'GET')
    .action(async (o: { key: string; uin: string; path: string; method: string }) => {
      const key = createPrivateKey(readFileSync(o.key));
      process.stdout.write(`${await signHolderProof(key, { uin: o.uin, method: o.method, path: o.path })}\n`);
    });
}
