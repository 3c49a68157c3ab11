import type { KeyObject } from 'node:crypto';
import { RegistoError } from '@registo/schemas';
import { Pkcs11Signer } from './pkcs11-signer.js';
import { Pkcs11Token } from './pkcs11-token.js';
import { type Signer, type SignerMode, SoftwareSigner } from './signer.js';

export interface OpenSignerOptions {
  mode: SignerMode;
  /** The key's label: CKA_LABEL on the token, a name for a software key. */
  keyLabel: string;
  /** qualified: where the key is (`loadSignerConfig().pkcs11`). Ignored in non_qualified mode. */
  pkcs11?: { module?: string; tokenLabel?: string; userPin?: string; env?: Record<string, string | undefined> } | null;
  /** qualified: an already open token to sign with (shared by several signers; not closed by the signer). */
  token?: Pkcs11Token;
  /** non_qualified: the software key (KeyObject, PEM, or PKCS#8 DER); default a fresh key held in memory. */
  softwareKey?: KeyObject | string | Buffer;
}

/**
 * The signer the configured mode allows:
 *
 * - `qualified` — the key pair `keyLabel` in the PKCS#11 token, which must have been generated
 *   inside it and be non-extractable. A missing module, token, key or a wrong PIN is a
 *   CONFIG_INVALID that names what was asked for, and there is no software fallback.
 * - `non_qualified` — a software key (mode `non_qualified`), whatever PKCS#11 settings exist.
 */
export async function openSigner(options: OpenSignerOptions): Promise<Signer> {
  if (options.mode === 'non_qualified') {
    return options.softwareKey ? SoftwareSigner.fromPrivateKey(options.keyLabel, options.softwareKey) : SoftwareSigner.generate(options.keyLabel);
  }
  if (options.mode !== 'qualified') throw new RegistoError('CONFIG_INVALID', `unknown signer mode ${String(options.mode)}`);
  let token = options.token;
  const owned = !token;
  if (!token) {
    const p = options.pkcs11 ?? {};
    const missing = [
      ['REGISTO_PKCS11_MODULE', p.module],
      ['REGISTO_PKCS11_TOKEN', p.tokenLabel],
      ['REGISTO_PKCS11_PIN', p.userPin],
    ].filter(([, v]) => !v).map(([k]) => k);
    if (missing.length > 0) {
      throw new RegistoError('CONFIG_INVALID', `qualified signer "${options.keyLabel}" needs its PKCS#11 token: ${missing.join(', ')} not set (no software fallback in qualified mode)`, {
        keyLabel: options.keyLabel,
        missing,
      });
    }
    token = await Pkcs11Token.open({ module: p.module!, tokenLabel: p.tokenLabel!, userPin: p.userPin!, ...(p.env ? { env: p.env } : {}) });
  }
  try {
    const signer = await Pkcs11Signer.open(token, options.keyLabel, { ownsToken: owned });
    const problems = await token.heldInTokenProblems(options.keyLabel);
    if (problems.length > 0) {
      throw new RegistoError(
        'CONFIG_INVALID',
        `key "${options.keyLabel}" on PKCS#11 token "${token.tokenLabel}" (module ${token.modulePath}) is not usable in qualified mode: ${problems.join('; ')}`,
        { module: token.modulePath, tokenLabel: token.tokenLabel, keyLabel: options.keyLabel, problems },
      );
    }
    return signer;
  } catch (error) {
    if (owned) await token.close();
    throw error;
  }
}
