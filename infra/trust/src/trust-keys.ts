import { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { RegistoError } from '@registo/schemas';
import type { SignerConfig, Signer, SignerMode } from '@registo/hsm';
import { openSigner, Pkcs11Token } from '@registo/hsm';
import { POLICY_OIDS } from './certificates.js';
import { assertCertifiedPublicUrl } from './certified-public-url.js';
import { SOFTWARE_TRUST_KEYS_FILE, parseSoftwareKeys, performKeyCeremony } from './ceremony.js';
import { TRUST_KEYS, type TrustRole } from './profiles.js';

export interface TrustCertificate {
  der: Buffer;
  pem: string;
  x509: X509Certificate;
}

/** The hierarchy's signers and certificates, as the running platform uses them. */
export interface TrustKeys {
  mode: SignerMode;
  policyOid: string;
  trustDir: string;
  signers: Readonly<Record<TrustRole, Signer>>;
  certificates: Readonly<Record<TrustRole, TrustCertificate>>;
  close(): Promise<void>;
}

export interface OpenTrustKeysOptions {
  signer: SignerConfig;
  dataDir: string;
  /** Default `<dataDir>/trust`. */
  trustDir?: string;
  publicUrl: string;
  /**
   * non_qualified only: run the (idempotent) ceremony first, so that a bare machine has a
   * hierarchy of labelled software keys. Qualified mode never creates keys at start-up: that is
   * the key ceremony's (`registo keys init`).
   */
  ensureSoftwareHierarchy?: boolean;
}

async function readCertificates(trustDir: string, mode: SignerMode): Promise<Record<TrustRole, TrustCertificate>> {
  const out = {} as Record<TrustRole, TrustCertificate>;
  for (const spec of TRUST_KEYS) {
    const file = join(trustDir, spec.file);
    if (!existsSync(file)) {
      throw new RegistoError('CONFIG_INVALID', `${file} is missing: run \`registo keys init\` (${mode}) first`, { file });
    }
    const pem = await readFile(file, 'utf8');
    const x509 = new X509Certificate(pem);
    out[spec.role] = { der: x509.raw, pem, x509 };
  }
  return out;
}

/**
 * Opens the signers of the hierarchy and reads its certificates. Every signer must hold the key its
 * certificate certifies; in qualified mode the keys are the token's and there is no fallback.
 */
export async function openTrustKeys(options: OpenTrustKeysOptions): Promise<TrustKeys> {
  const mode = options.signer.mode;
  const trustDir = resolve(options.trustDir ?? join(options.dataDir, 'trust'));
  if (mode === 'non_qualified' && options.ensureSoftwareHierarchy) {
    await performKeyCeremony({ signer: options.signer, dataDir: options.dataDir, trustDir, publicUrl: options.publicUrl });
  }
  const certificates = await readCertificates(trustDir, mode);
  assertCertifiedPublicUrl(certificates, options.publicUrl, trustDir);
  const signers = {} as Record<TrustRole, Signer>;
  let token: Pkcs11Token | null = null;
  try {
    if (mode === 'qualified') {
      const p = options.signer.pkcs11;
      if (!p) throw new RegistoError('CONFIG_INVALID', 'qualified mode needs its PKCS#11 token: REGISTO_PKCS11_MODULE, REGISTO_PKCS11_TOKEN, REGISTO_PKCS11_PIN (no software fallback)');
      token = await Pkcs11Token.open({ module: p.module, tokenLabel: p.tokenLabel, userPin: p.userPin, env: p.env });
      for (const spec of TRUST_KEYS) signers[spec.role] = await openSigner({ mode, keyLabel: spec.label, token });
    } else {
      const file = resolve(options.dataDir, SOFTWARE_TRUST_KEYS_FILE);
      if (!existsSync(file)) throw new RegistoError('CONFIG_INVALID', `${file} is missing: run \`registo keys init\` first`, { file });
      const keys = parseSoftwareKeys(await readFile(file, 'utf8'), file);
      for (const spec of TRUST_KEYS) {
        const key = keys.get(spec.label);
        if (!key) throw new RegistoError('CONFIG_INVALID', `${file} has no key ${spec.label}: run \`registo keys init\``, { file, keyLabel: spec.label });
        signers[spec.role] = await openSigner({ mode, keyLabel: spec.label, softwareKey: key });
      }
    }
    for (const spec of TRUST_KEYS) {
      const certified = certificates[spec.role].x509.publicKey.export({ type: 'spki', format: 'der' });
      if (!certified.equals(await signers[spec.role].publicKeySpki())) {
        throw new RegistoError('CONFIG_INVALID', `${join(trustDir, spec.file)} certifies another key than ${spec.label} (${mode})`, { keyLabel: spec.label });
      }
    }
  } catch (error) {
    for (const s of Object.values(signers)) await s.close?.();
    await token?.close();
    throw error;
  }
  return {
    mode,
    policyOid: POLICY_OIDS[mode],
    trustDir,
    signers,
    certificates,
    async close() {
      for (const s of Object.values(signers)) await s.close?.();
      await token?.close();
    },
  };
}
