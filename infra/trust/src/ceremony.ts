import { X509Certificate, createHash, createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type CeremonyCertificateData, RegistoError } from '@registo/schemas';
import type { SignerConfig } from '@registo/hsm';
import { openSigner, Pkcs11Token, type Signer, type SignerMode, SoftwareSigner } from '@registo/hsm';
import { POLICY_OIDS, formatName, issueCertificate } from './certificates.js';
import { HMAC_KEYS, type HmacKeyRole, INTAKE_KEY, KEK_LABEL, TRUST_KEYS, type TrustRole, profileOf, subjectNameOf, trustKey } from './profiles.js';

export interface KeyCeremonyOptions {
  signer: SignerConfig;
  /** The data directory (`REGISTO_DATA_DIR`): non-qualified software keys live in `<dataDir>/keys/`. */
  dataDir: string;
  /** Where the certificates (PEM) go; default `<dataDir>/trust`. */
  trustDir?: string;
  /** Base of the CRL and OCSP URLs named in certificates (`REGISTO_PUBLIC_URL`). */
  publicUrl: string;
  now?: Date;
  onProgress?: (line: string) => void;
}

/** The certificate as the ceremony event records it (serial in upper-case hex, as openssl prints it), and its file. */
export interface CeremonyCertificate extends CeremonyCertificateData {
  file: string;
}

export interface CeremonyKey {
  label: string;
  role: TrustRole | 'kek' | HmacKeyRole | 'intake_key';
  /** True when this run generated the key. */
  keyCreated: boolean;
  /** Hex SHA-256 of the DER SubjectPublicKeyInfo (null for the KEK, a secret key). */
  publicKeySha256: string | null;
  certificate: CeremonyCertificate | null;
}

export interface KeyCeremonyResult {
  mode: SignerMode;
  policyOid: string;
  /** The PKCS#11 token holding the keys (qualified mode). */
  tokenLabel: string | null;
  /** The file holding the software keys (non_qualified mode). */
  softwareKeyFile: string | null;
  trustDir: string;
  keys: CeremonyKey[];
  /** True when this run created a key or issued a certificate. */
  changed: boolean;
}

/** Where non-qualified software keys are kept, relative to the data directory. */
export const SOFTWARE_TRUST_KEYS_FILE = join('keys', 'trust-keys.non-qualified.pem');

const SOFTWARE_KEYS_HEADER =
  'Registo trust-service keys: NON-QUALIFIED software keys (signer mode non_qualified), for development only.\n' +
  'Everything signed with them carries the non-qualified certificate policy. Never use them in production.\n';

const spkiSha256 = (spki: Buffer): string => createHash('sha256').update(spki).digest('hex');

/** Parses the software key file: `label: <name>` followed by a PKCS#8 PEM block, per key. */
export function parseSoftwareKeys(text: string, file: string): Map<string, string> {
  const keys = new Map<string, string>();
  const block = /^label: (\S+)\s*\n(-----BEGIN PRIVATE KEY-----[A-Za-z0-9+/=\s]+?-----END PRIVATE KEY-----)/gm;
  for (let m = block.exec(text); m; m = block.exec(text)) {
    if (keys.has(m[1]!)) throw new RegistoError('CONFIG_INVALID', `${file}: key ${m[1]} appears twice`, { file });
    keys.set(m[1]!, `${m[2]!}\n`);
  }
  return keys;
}

async function writePrivateFile(file: string, text: string): Promise<void> {
  const temporary = `${file}.${process.pid}.tmp`;
  await writeFile(temporary, text, { mode: 0o600 });
  await chmod(temporary, 0o600);
  await rename(temporary, file);
}

interface KeyMaterial {
  signers: Map<TrustRole, Signer>;
  created: Set<string>;
  kek: { label: string; created: boolean } | null;
  /** qualified: the HMAC keys made beside the KEK. */
  hmacKeys: { label: string; role: HmacKeyRole; created: boolean }[];
  /** qualified: the intake key-agreement pair, with its public key's fingerprint. */
  intakeKey: { label: string; created: boolean; spki: Buffer } | null;
  tokenLabel: string | null;
  softwareKeyFile: string | null;
  close(): Promise<void>;
}

/** qualified: every key generated inside the token, found again by label on later runs. */
async function tokenKeys(config: SignerConfig, progress: (line: string) => void): Promise<KeyMaterial> {
  const p = config.pkcs11;
  if (!p) {
    throw new RegistoError('CONFIG_INVALID', 'qualified mode needs its PKCS#11 token: REGISTO_PKCS11_MODULE, REGISTO_PKCS11_TOKEN, REGISTO_PKCS11_PIN (no software fallback)');
  }
  const token = await Pkcs11Token.open({ module: p.module, tokenLabel: p.tokenLabel, userPin: p.userPin, env: p.env });
  const signers = new Map<TrustRole, Signer>();
  const created = new Set<string>();
  try {
    progress(`PKCS#11 token "${token.tokenLabel}" (module ${token.modulePath}) opened`);
    for (const spec of TRUST_KEYS) {
      const key = await token.ensureEcKey(spec.label);
      if (key.created) created.add(spec.label);
      progress(`${key.created ? 'generated' : 'found    '} EC P-256 key ${spec.label} in the token`);
      signers.set(spec.role, await openSigner({ mode: 'qualified', keyLabel: spec.label, token }));
    }
    const kek = await token.ensureAesKey(KEK_LABEL);
    progress(`${kek.created ? 'generated' : 'found    '} AES-256 key ${KEK_LABEL} in the token`);
    const problems = await token.heldInTokenProblems(KEK_LABEL);
    if (problems.length > 0) {
      throw new RegistoError('CONFIG_INVALID', `key "${KEK_LABEL}" on PKCS#11 token "${token.tokenLabel}" is not usable in qualified mode: ${problems.join('; ')}`);
    }
    const hmacKeys: KeyMaterial['hmacKeys'] = [];
    for (const { role, label } of HMAC_KEYS) {
      const key = await token.ensureHmacKey(label);
      progress(`${key.created ? 'generated' : 'found    '} HMAC-SHA256 key ${label} in the token`);
      const trouble = await token.heldInTokenProblems(label);
      if (trouble.length > 0) throw new RegistoError('CONFIG_INVALID', `key "${label}" on PKCS#11 token "${token.tokenLabel}" is not usable in qualified mode: ${trouble.join('; ')}`);
      hmacKeys.push({ label, role, created: key.created });
    }
    const intake = await token.ensureEcDeriveKey(INTAKE_KEY.label);
    progress(`${intake.created ? 'generated' : 'found    '} EC P-256 key-agreement key ${INTAKE_KEY.label} in the token`);
    const intakeTrouble = await token.heldInTokenProblems(INTAKE_KEY.label);
    if (intakeTrouble.length > 0) throw new RegistoError('CONFIG_INVALID', `key "${INTAKE_KEY.label}" on PKCS#11 token "${token.tokenLabel}" is not usable in qualified mode: ${intakeTrouble.join('; ')}`);
    return {
      signers,
      created,
      kek: { label: KEK_LABEL, created: kek.created },
      hmacKeys,
      intakeKey: { label: INTAKE_KEY.label, created: intake.created, spki: intake.spki },
      tokenLabel: token.tokenLabel,
      softwareKeyFile: null,
      close: () => token.close(),
    };
  } catch (error) {
    await token.close();
    throw error;
  }
}

/** non_qualified: software keys in one PKCS#8 PEM file (mode 0600) under the data dir, created once. */
async function softwareKeys(dataDir: string, progress: (line: string) => void): Promise<KeyMaterial> {
  const file = resolve(dataDir, SOFTWARE_TRUST_KEYS_FILE);
  const existing = existsSync(file) ? parseSoftwareKeys(await readFile(file, 'utf8'), file) : new Map<string, string>();
  const created = new Set<string>();
  for (const spec of TRUST_KEYS) {
    if (existing.has(spec.label)) continue;
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    existing.set(spec.label, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
    created.add(spec.label);
  }
  if (created.size > 0) {
    await mkdir(resolve(dataDir, 'keys'), { recursive: true, mode: 0o700 });
    const body = TRUST_KEYS.map((spec) => `label: ${spec.label}\n${existing.get(spec.label)!.trim()}\n`).join('');
    await writePrivateFile(file, `${SOFTWARE_KEYS_HEADER}\n${body}`);
  }
  const signers = new Map<TrustRole, Signer>();
  for (const spec of TRUST_KEYS) {
    progress(`${created.has(spec.label) ? 'generated' : 'found    '} software EC P-256 key ${spec.label} (non-qualified) in ${file}`);
    signers.set(spec.role, SoftwareSigner.fromPrivateKey(spec.label, createPrivateKey(existing.get(spec.label)!)));
  }
  return { signers, created, kek: null, hmacKeys: [], intakeKey: null, tokenLabel: null, softwareKeyFile: file, close: async () => undefined };
}

function describe(cert: X509Certificate, file: string, issued: boolean): CeremonyCertificate {
  return {
    file,
    serialNumber: cert.serialNumber.toUpperCase(),
    sha256: createHash('sha256').update(cert.raw).digest('hex'),
    notAfter: new Date(cert.validTo).toISOString(),
    subject: cert.subject.split('\n').join(', '),
    issuer: cert.issuer.split('\n').join(', '),
    issued,
  };
}

/**
 * The key ceremony: makes sure every key of the hierarchy exists (on the token in qualified mode,
 * in a software key file in non_qualified mode) and that every certificate of the hierarchy is in
 * the trust folder, issuing what is missing. Nothing that exists is replaced: a certificate whose
 * key is not the one the ceremony holds is refused (CONFIG_INVALID), never overwritten.
 *
 * In qualified mode the token is opened before anything is written, so a missing token leaves the
 * data directory untouched.
 */
export async function performKeyCeremony(options: KeyCeremonyOptions): Promise<KeyCeremonyResult> {
  const progress = options.onProgress ?? (() => undefined);
  const mode = options.signer.mode;
  const now = options.now ?? new Date();
  const trustDir = resolve(options.trustDir ?? join(options.dataDir, 'trust'));
  const material = mode === 'qualified' ? await tokenKeys(options.signer, progress) : await softwareKeys(options.dataDir, progress);
  try {
    await mkdir(trustDir, { recursive: true });
    const certificates = new Map<TrustRole, X509Certificate>();
    const keys: CeremonyKey[] = [];
    for (const spec of TRUST_KEYS) {
      const signer = material.signers.get(spec.role)!;
      const spki = await signer.publicKeySpki();
      const file = join(trustDir, spec.file);
      let certificate: CeremonyCertificate;
      if (existsSync(file)) {
        let cert: X509Certificate;
        try {
          cert = new X509Certificate(await readFile(file));
        } catch (error) {
          throw new RegistoError('CONFIG_INVALID', `${file} is not a certificate (${(error as Error).message}); move it away to issue a new one`, { file });
        }
        const certified = cert.publicKey.export({ type: 'spki', format: 'der' });
        if (!certified.equals(spki)) {
          throw new RegistoError(
            'CONFIG_INVALID',
            `${file} certifies another key than ${spec.label} (${mode}); it is not replaced: move the trust folder away to issue a new hierarchy`,
            { file, keyLabel: spec.label },
          );
        }
        certificates.set(spec.role, cert);
        certificate = describe(cert, file, false);
        progress(`kept      ${spec.file}: serial ${certificate.serialNumber}`);
      } else {
        const issuerSpec = trustKey(spec.issuer);
        const selfSigned = spec.issuer === spec.role;
        const issuerCertificate = selfSigned ? undefined : certificates.get(spec.issuer);
        if (!selfSigned && !issuerCertificate) throw new RegistoError('CONFIG_INVALID', `no certificate for ${issuerSpec.label} to issue ${spec.file} with`);
        const issued = await issueCertificate({
          issuerSigner: material.signers.get(spec.issuer)!,
          issuerName: subjectNameOf(issuerSpec, mode),
          subjectName: subjectNameOf(spec, mode),
          subjectPublicKeySpki: spki,
          notBefore: new Date(now.getTime() - 60_000),
          notAfter: new Date(now.getTime() + spec.validityDays * 86_400_000),
          ...profileOf(spec.role, mode, options.publicUrl),
        });
        // Written beside and renamed: a start-up killed mid-ceremony never leaves half a certificate.
        const temporary = `${file}.${process.pid}.tmp`;
        await writeFile(temporary, issued.pem, { mode: 0o644 });
        await rename(temporary, file);
        const cert = new X509Certificate(issued.der);
        if (!cert.verify(issuerCertificate?.publicKey ?? cert.publicKey)) throw new RegistoError('HSM_UNAVAILABLE', `the signature on ${spec.file} does not verify`);
        certificates.set(spec.role, cert);
        certificate = describe(cert, file, true);
        progress(`issued    ${spec.file}: ${formatName(subjectNameOf(spec, mode))}, serial ${certificate.serialNumber}, by ${issuerSpec.label}`);
      }
      keys.push({ label: spec.label, role: spec.role, keyCreated: material.created.has(spec.label), publicKeySha256: spkiSha256(spki), certificate });
    }
    if (material.kek) keys.push({ label: material.kek.label, role: 'kek', keyCreated: material.kek.created, publicKeySha256: null, certificate: null });
    for (const k of material.hmacKeys) keys.push({ label: k.label, role: k.role, keyCreated: k.created, publicKeySha256: null, certificate: null });
    if (material.intakeKey) {
      const k = material.intakeKey;
      keys.push({ label: k.label, role: 'intake_key', keyCreated: k.created, publicKeySha256: spkiSha256(k.spki), certificate: null });
    }
    return {
      mode,
      policyOid: POLICY_OIDS[mode],
      tokenLabel: material.tokenLabel,
      softwareKeyFile: material.softwareKeyFile,
      trustDir,
      keys,
      changed: keys.some((k) => k.keyCreated || k.certificate?.issued === true),
    };
  } finally {
    for (const signer of material.signers.values()) await signer.close?.();
    await material.close();
  }
}
