import { X509Certificate, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { RegistoError } from '@registo/schemas';
import { SoftwareKeyWrapper, decodeBase64Strict } from '@registo/crypto';
import {
  type IntakeKey,
  type RegistrationAuthority,
  createRegistrationAuthority,
  exportIntakeKeyJwk,
  exportRegistrationAuthority,
  generateIntakeKey,
  importIntakeKeyJwk,
  importRegistrationAuthority,
} from '@registo/packets';

/**
 * The secrets the identity side of the platform needs: the key-encryption key (software for
 * now, the HSM with the trust-services work), the blind-index key, the UIN key, the intake
 * key packets are encrypted to, and the registration-client CA whose devices are trusted.
 * In development they live in one JSON file that is created on first start and labelled as
 * software keys; nothing signed or sealed with them claims more.
 */
export interface PlatformKeys {
  label: 'non-qualified software keys';
  file: string;
  keyWrapper: SoftwareKeyWrapper;
  indexKey: Buffer;
  uinKey: Buffer;
  intakeKey: IntakeKey;
  registrationCa: RegistrationAuthority;
}

interface KeyFile {
  label: string;
  createdAt: string;
  kek: string;
  indexKey: string;
  uinKey: string;
  intakeKey: Record<string, unknown>;
  registrationCa: { certificatePem: string; privateKeyPem: string };
}

async function createKeyFile(): Promise<KeyFile> {
  const intake = await generateIntakeKey();
  const ca = await createRegistrationAuthority({ name: 'Registo registration-client CA (development)', validDays: 3650 });
  return {
    label: 'non-qualified software keys',
    createdAt: new Date().toISOString(),
    kek: randomBytes(32).toString('base64'),
    indexKey: randomBytes(32).toString('base64'),
    uinKey: randomBytes(32).toString('base64'),
    intakeKey: (await exportIntakeKeyJwk(intake)) as Record<string, unknown>,
    registrationCa: await exportRegistrationAuthority(ca),
  };
}

function key32(value: unknown, name: string, file: string): Buffer {
  const b = typeof value === 'string' ? decodeBase64Strict(value) : null;
  if (!b || b.length !== 32) throw new RegistoError('CONFIG_INVALID', `${file}: ${name} must be 32 bytes, base64`, { file, field: name });
  return b;
}

/** Reads the key file, creating it (mode 0600) when it does not exist yet. */
export async function loadPlatformKeys(file: string): Promise<PlatformKeys & { created: boolean }> {
  let raw: KeyFile;
  let created = false;
  try {
    raw = JSON.parse(await readFile(file, 'utf8')) as KeyFile;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new RegistoError('CONFIG_INVALID', `cannot read the key file ${file}: ${(e as Error).message}`, { file });
    }
    raw = await createKeyFile();
    await mkdir(dirname(file), { recursive: true });
    // Written aside and renamed, so two processes starting together never read half a file.
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(raw, null, 2), { mode: 0o600 });
    await rename(tmp, file);
    created = true;
  }
  return {
    label: 'non-qualified software keys',
    file,
    created,
    keyWrapper: new SoftwareKeyWrapper(key32(raw.kek, 'kek', file), 'software-kek-1', `the key file ${file}`),
    indexKey: key32(raw.indexKey, 'indexKey', file),
    uinKey: key32(raw.uinKey, 'uinKey', file),
    intakeKey: await importIntakeKeyJwk(raw.intakeKey as never),
    registrationCa: await importRegistrationAuthority(raw.registrationCa),
  };
}

/**
 * Qualified mode with the registration-client CAs given by certificate
 * (`REGISTO_REGISTRATION_CA_CERTS`): what intake needs and nothing more. The KEK, the blind-index,
 * the UIN and the intake keys are the token's; the CAs are certificates only (their private keys
 * belong to whoever runs them). No private key is in any file.
 */
export interface QualifiedIntakeTrust {
  label: 'qualified';
  trustedCaPems: string[];
}


/** The registration-client CA certificates of `file`: at least one, and no private key in it. */
export async function readRegistrationCaCertificates(file: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new RegistoError('CONFIG_INVALID', `cannot read the registration-client CA certificates ${file} (REGISTO_REGISTRATION_CA_CERTS): ${(e as Error).message}`, { file });
  }
  if (/PRIVATE KEY-----/.test(text)) throw new RegistoError('CONFIG_INVALID', `${file} (REGISTO_REGISTRATION_CA_CERTS) holds a private key: give the CA certificates only`, { file });
  const pems = text.match(/-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+?-----END CERTIFICATE-----/g) ?? [];
  if (pems.length === 0) throw new RegistoError('CONFIG_INVALID', `${file} (REGISTO_REGISTRATION_CA_CERTS) holds no PEM certificate`, { file });
  for (const pem of pems) {
    try {
      const cert = new X509Certificate(pem);
      if (!cert.ca) throw new Error(`${cert.subject.replace(/\n/g, ', ')} is not a CA certificate`);
    } catch (e) {
      throw new RegistoError('CONFIG_INVALID', `${file} (REGISTO_REGISTRATION_CA_CERTS): ${(e as Error).message}`, { file });
    }
  }
  return pems.map((p) => `${p}\n`);
}

export async function loadQualifiedIntakeTrust(caCertificatesFile: string): Promise<QualifiedIntakeTrust> {
  return { label: 'qualified', trustedCaPems: await readRegistrationCaCertificates(caCertificatesFile) };
}
