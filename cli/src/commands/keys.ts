import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { openEventStore } from '@registo/event-store';
import { loadSignerConfig } from '@registo/hsm';
import {
  type KeyCeremonyResult,
  TRUST_KEYS,
  type TrustRole,
  assertCertifiedPublicUrl,
  loadTrustConfig,
  performKeyCeremony,
} from '@registo/trust';
import { loadConfig } from '@registo/config';
import { KEY_CEREMONY_STREAM, recordKeyCeremony } from '@registo/producers';
import { type CeremonyKeyData, RegistoError } from '@registo/schemas';

/** `7c2a2c…` → `7C:2A:2C:…`, as `openssl x509 -fingerprint -sha256` prints it. */
const colons = (hex: string): string => hex.toUpperCase().match(/../g)!.join(':');

function eventKeys(result: KeyCeremonyResult): CeremonyKeyData[] {
  return result.keys.map((k) => ({
    label: k.label,
    role: k.role,
    created: k.keyCreated,
    publicKeySha256: k.publicKeySha256,
    certificate: k.certificate
      ? {
          serialNumber: k.certificate.serialNumber,
          sha256: k.certificate.sha256,
          notAfter: k.certificate.notAfter,
          subject: k.certificate.subject,
          issuer: k.certificate.issuer,
          issued: k.certificate.issued,
        }
      : null,
  }));
}

/**
 * A ceremony keeps the certificates it finds, so a run for a new public URL changes nothing until
 * the old ones are moved aside: say so now rather than at the next start (PUBLIC_URL_MISMATCH).
 */
function publicUrlWarning(result: KeyCeremonyResult, publicUrl: string): string | null {
  const certificates = Object.fromEntries(TRUST_KEYS.map((k) => [k.role, { der: new X509Certificate(readFileSync(join(result.trustDir, k.file))).raw }])) as Record<TrustRole, { der: Buffer }>;
  try {
    assertCertifiedPublicUrl(certificates, publicUrl, result.trustDir);
    return null;
  } catch (error) {
    if (error instanceof RegistoError && error.code === 'PUBLIC_URL_MISMATCH') return `registo keys init: warning: ${error.code}: ${error.message}\n`;
    throw error;
  }
}

function report(result: KeyCeremonyResult): string {
  const lines = [
    '',
    `signer mode ${result.mode} (certificate policy ${result.policyOid})`,
    result.tokenLabel ? `keys in PKCS#11 token "${result.tokenLabel}"` : `software keys (non-qualified) in ${result.softwareKeyFile}`,
    `certificates in ${result.trustDir}`,
    '',
  ];
  for (const k of result.keys) {
    const status = [k.keyCreated ? 'key generated' : 'key existed', k.certificate ? (k.certificate.issued ? 'certificate issued' : 'certificate existed') : null].filter(Boolean).join(', ');
    lines.push(`${k.label} (${k.role}): ${status}`);
    if (k.publicKeySha256) lines.push(`  public key SHA-256   ${colons(k.publicKeySha256)}`);
    else lines.push('  secret key (AES-256), never leaves the token');
    if (k.certificate) {
      lines.push(`  certificate          ${k.certificate.file}`);
      lines.push(`  serial               ${k.certificate.serialNumber}, valid until ${k.certificate.notAfter}`);
      lines.push(`  certificate SHA-256  ${colons(k.certificate.sha256)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

export function registerKeys(program: Command): void {
  const keys = program.command('keys').description('trust-service keys: the key ceremony');

  keys
    .command('init')
    .description('key ceremony: create the hierarchy\'s keys (in the HSM when qualified), issue its certificates, record the ceremony')
    .option('--trust-dir <dir>', 'where the certificates (PEM) are written (default <REGISTO_DATA_DIR>/trust)')
    .option('--actor <id>', 'who performs the ceremony (recorded in the event)', process.env.USER ?? 'operator')
    .option('--json', 'print the result as JSON instead of text')
    .addHelpText(
      'after',
      `
Keys (labels): registo-root-ca, registo-identity-ca, registo-ocsp, registo-tsa, registo-checkpoint,
and in qualified mode the key-encryption key registo-kek (AES-256) and the HMAC-SHA256 keys
registo-blind-index and registo-uin (generic secrets).

  REGISTO_SIGNER_MODE=qualified      keys generated inside the PKCS#11 token named by
                                     REGISTO_PKCS11_MODULE / REGISTO_PKCS11_TOKEN / REGISTO_PKCS11_PIN
                                     (and SOFTHSM2_CONF for SoftHSM2); without the token the
                                     ceremony stops with CONFIG_INVALID and writes nothing.
  REGISTO_SIGNER_MODE=non_qualified  (default) software keys in
                                     <REGISTO_DATA_DIR>/keys/trust-keys.non-qualified.pem (mode 0600);
                                     every certificate carries the non-qualified policy.
  REGISTO_PUBLIC_URL                 base of the CRL and OCSP URLs in the certificates
                                     (default http://<HOST or 127.0.0.1>:<PORT>, as for start)

The root certifies only the identity issuing CA; the identity CA certifies the OCSP, timestamp
and checkpoint signers. The ceremony is recorded as KeyCeremonyPerformed in the stream
${KEY_CEREMONY_STREAM}. Running it again replaces nothing: it reports the keys and certificates
that exist, issues only what is missing, and records nothing when nothing changed.
It opens the event store itself: on an embedded data directory, run it with the platform
stopped (a running one holds the directory: DATA_DIR_LOCKED).`,
    )
    .action(async (o: { trustDir?: string; actor: string; json?: boolean }) => {
      const progress = (line: string) => {
        if (!o.json) process.stdout.write(`${line}\n`);
      };
      try {
        const signer = loadSignerConfig();
        const { publicUrl } = loadTrustConfig();
        const config = loadConfig();
        const dataDir = resolve(process.env.REGISTO_DATA_DIR ?? './data');
        progress(`key ceremony, signer mode ${signer.mode}, performed by ${o.actor}`);
        const result = await performKeyCeremony({ signer, dataDir, publicUrl, onProgress: progress, ...(o.trustDir ? { trustDir: o.trustDir } : {}) });
        const store = await openEventStore(config.eventStore);
        let position: number | null = null;
        try {
          position = await recordKeyCeremony(
            store,
            { mode: result.mode, policyOid: result.policyOid, tokenLabel: result.tokenLabel, performedBy: o.actor, keys: eventKeys(result) },
            { id: o.actor, role: 'key_custodian' },
          );
        } finally {
          await store.close();
        }
        const warning = publicUrlWarning(result, publicUrl);
        if (warning) process.stderr.write(warning);
        if (o.json) {
          process.stdout.write(`${JSON.stringify({ ...result, recorded: position !== null, position, stream: KEY_CEREMONY_STREAM }, null, 2)}\n`);
          return;
        }
        process.stdout.write(report(result));
        process.stdout.write(
          position !== null
            ? `\nKeyCeremonyPerformed recorded in ${KEY_CEREMONY_STREAM} at position ${position}\n`
            : `\nnothing changed since the last recorded ceremony: no event appended\n`,
        );
      } catch (error) {
        if (!(error instanceof RegistoError)) throw error;
        process.stderr.write(`registo keys init: ${error.code}: ${error.message}\n`);
        process.exitCode = 1;
      }
    });
}
