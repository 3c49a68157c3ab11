import { readFile } from 'node:fs/promises';
import { type Command, InvalidArgumentError } from 'commander';
import { SingleBar, Presets } from 'cli-progress';
import {
  DEFAULT_MAX_FINDINGS,
  ecdsaKeyId,
  fetchPublishedKey,
  platformRoots,
  openExport,
  readPublicKey,
  verifyExportStream,
} from '@registo/audit';
import { timestampChecker } from '../audit/timestamps.js';
import { platformUrlOption } from '../platform-client.js';
import { failuresExitWith, usageErrorsExitWith } from './failure-exit-code.js';

/** `audit verify`'s exit codes (docs/audit.md): a tampered log is never confused with a missing file. */
const AUDIT_EXIT = { verified: 0, tampered: 1, couldNotVerify: 2 } as const;

function bytesBar(total: number | null): { update(n: number): void; stop(): void } {
  if (!process.stderr.isTTY) return { update: () => undefined, stop: () => undefined };
  if (total === null) {
    // A streamed export has no length: say how much has been read.
    const bar = new SingleBar({ format: 'verify {value} MiB read', stream: process.stderr }, Presets.shades_classic);
    bar.start(0, 0);
    return { update: (n) => bar.update(Math.round(n / 2 ** 20)), stop: () => bar.stop() };
  }
  const bar = new SingleBar({ format: 'verify [{bar}] {percentage}% {value}/{total} MiB {eta_formatted}', stream: process.stderr }, Presets.shades_classic);
  const mib = (n: number): number => Math.round(n / 2 ** 20);
  bar.start(mib(total), 0);
  return { update: (n) => bar.update(mib(n)), stop: () => bar.stop() };
}

function wholeNumber(v: string): number {
  if (!/^[0-9]{1,9}$/.test(v)) throw new InvalidArgumentError('a whole number ≥ 0');
  return Number(v);
}

export function registerAudit(program: Command): void {
  const audit = program.command('audit').description('audit the log: verify an export offline against the signed checkpoints');
  const verify = audit
    .command('verify')
    .description('verify an audit export (file or URL): every event hash, the Merkle tree, every checkpoint origin, signature, chain link, timestamp and consistency')
    .argument('[source]', 'export file (NDJSON) or URL of the platform / its /v1/audit/export; default: --url')
    .addOption(platformUrlOption('the running platform to verify when no source is given'))
    .option('--public-key <file>', 'checkpoint public key or certificate (PEM); for a URL, default: the one the platform publishes')
    .option('--tsa-cert <file>', 'timestamp authority certificate (PEM); tokens must verify with it')
    .option('--ca <file>', 'the CA certificate (PEM) that issued the TSA certificate (the identity CA)')
    .option('--token <token>', 'bearer token for a URL export (env REGISTO_AUDIT_TOKEN)', process.env.REGISTO_AUDIT_TOKEN)
    .option('--origin <origin>', "the log's origin (the checkpoint key's note name) to pin; for a URL, default: the name the platform publishes with its key")
    .option('--proofs <url>', "platform whose consistency proofs bisect a signed root that differs down to the rewritten position; for a URL source, default: that platform")
    .option('--max-findings <n>', `findings to list (0: all); every one is counted either way`, wholeNumber, DEFAULT_MAX_FINDINGS)
    .option('--threads <n>', 'worker threads that hash (0: this thread; helps only with idle cores)', (v) => Number(v), 0)
    .option('--json', 'print the report as one JSON line')
    .addHelpText(
      'after',
      `
Exit codes:
  ${AUDIT_EXIT.verified}  verified: everything checks
  ${AUDIT_EXIT.tampered}  verified, and something disagrees (AUDIT_VERIFICATION_FAILED naming the first position)
  ${AUDIT_EXIT.couldNotVerify}  could not verify: bad usage, a missing or unreadable file, an unreachable URL, an export that cannot be read
Every finding is counted; past --max-findings the report says how many were not listed.
Example (the platform's certificates are in <REGISTO_DATA_DIR>/trust):
  registo audit verify export.ndjson --public-key data/trust/checkpoint.pem --tsa-cert data/trust/tsa.pem --ca data/trust/identity-ca.pem
From a running platform: registo audit verify --url http://127.0.0.1:8080 --token dev-auditor (key, TSA and CA certificates as it publishes them)`,
    )
    .action(failuresExitWith(AUDIT_EXIT.couldNotVerify, 'could not verify', async (given: string | undefined, o: { url: string; publicKey?: string; tsaCert?: string; ca?: string; token?: string; origin?: string; proofs?: string; maxFindings: number; json?: boolean; threads: number }) => {
      const source = given ?? o.url;
      let origin = o.origin;
      let spki: Buffer;
      let tsaPem = o.tsaCert ? await readFile(o.tsaCert, 'utf8') : undefined;
      let caPem = o.ca ? await readFile(o.ca, 'utf8') : undefined;
      if (o.publicKey) spki = readPublicKey(await readFile(o.publicKey, 'utf8'));
      else if (/^https?:\/\//.test(source)) {
        // Trust on first use: say which key, so that the auditor can compare it with one they hold.
        const published = await fetchPublishedKey(source);
        spki = published.spki;
        tsaPem ??= published.tsaCertificatePem ?? undefined;
        caPem ??= published.issuerPem ?? undefined;
        origin ??= published.origin;
        process.stderr.write(`using the key the platform publishes for ${published.origin}: key ID ${published.keyId} (pass --public-key to pin it)\n`);
      } else throw new InvalidArgumentError('--public-key is required to verify a file (the checkpoint certificate is <REGISTO_DATA_DIR>/trust/checkpoint.pem)');
      const input = await openExport(source, o.token);
      const bar = bytesBar(input.bytes);
      const started = performance.now();
      const verifyTimestamp = tsaPem ? await timestampChecker(tsaPem, caPem) : undefined;
      const proofs = o.proofs ?? (/^https?:\/\//.test(source) ? source : undefined);
      const earlierRoot = proofs ? platformRoots(proofs) : undefined;
      const report = await verifyExportStream(input.stream, { publicKeySpki: spki, origin, verifyTimestamp, maxFindings: o.maxFindings, earlierRoot, workers: o.threads, onProgress: (n) => bar.update(n) });
      bar.stop();
      const seconds = (performance.now() - started) / 1000;
      if (o.json) process.stdout.write(`${JSON.stringify({ ...report, keyId: ecdsaKeyId(spki).toString('hex'), seconds })}\n`);
      else {
        process.stdout.write(
          `${report.ok ? 'OK' : 'FAILED'}: positions ${report.from}–${report.to}, ${report.events} events, ${report.checkpoints} checkpoints (${report.checkpointsUnchecked} before the export), ${report.timestampsVerified} timestamps verified, signed up to ${report.uncoveredAfter}; ${seconds.toFixed(1)} s\n`,
        );
        if (!tsaPem && report.checkpoints > 0) process.stdout.write('  timestamps not checked: pass --tsa-cert\n');
        for (const f of report.findings) process.stdout.write(`  position ${f.position}${f.through && f.through !== f.position ? `–${f.through}` : ''} [${f.check}]: ${f.message}\n`);
        if (report.positionsMissing > 0 || report.positionsDuplicated > 0) {
          process.stdout.write(`  positions not unique and gap-free: ${report.positionsMissing} missing, ${report.positionsDuplicated} events at a position already held\n`);
        }
        if (report.findingsOmitted > 0) {
          process.stdout.write(`  … and ${report.findingsOmitted} more findings not listed (${report.findingsTotal} in all): pass --max-findings 0 to list every one\n`);
        }
        if (report.rootsUncheckedFrom !== null) {
          process.stdout.write(
            `  signed roots not compared from position ${report.rootsUncheckedFrom} on (${report.checkpointsNotCompared} checkpoints): they cover the positions reported above; verify an export from the position after them to check the rest\n`,
          );
        }
      }
      if (!report.ok) {
        const first = report.findings[0]!;
        process.stderr.write(`registo: AUDIT_VERIFICATION_FAILED at position ${first.position}: ${first.message}\n`);
        process.exitCode = AUDIT_EXIT.tampered;
      }
    }));
  usageErrorsExitWith(verify, AUDIT_EXIT.couldNotVerify);
}
