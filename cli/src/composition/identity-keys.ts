import type { KeyWrapper, MacKeyLike } from '@registo/crypto';
import { SoftwareIntakeDecrypter, exportIntakePublicJwk, type IntakeDecrypter } from '@registo/packets';
import { INTAKE_KEY_LABEL, Pkcs11IntakeDecrypter, Pkcs11KeyWrapper, Pkcs11MacKey, Pkcs11Token } from '@registo/hsm';
import { HMAC_KEYS } from '@registo/trust';
import type { PlatformKeys, RegistoConfig } from '@registo/config';
import { RegistoError } from '@registo/schemas';

/** The key-encryption key's label on the token, created by `registo keys init`. */
export const KEK_LABEL = 'registo-kek';

/**
 * Qualified mode: the KEK is the token's, and there is no software fallback — a missing token,
 * wrong PIN or missing key stops start-up with a message saying which. Non-qualified: the
 * development key file's software KEK.
 */
export async function openKeyWrapper(config: RegistoConfig, software: KeyWrapper | null): Promise<KeyWrapper> {
  if (config.signer.mode !== 'qualified') return software!;
  const p = config.signer.pkcs11!;
  const token = await Pkcs11Token.open({ module: p.module, tokenLabel: p.tokenLabel, userPin: p.userPin, env: p.env });
  try {
    return await Pkcs11KeyWrapper.open(token, KEK_LABEL, { ownsToken: true });
  } catch (e) {
    await token.close();
    if (e instanceof RegistoError && e.code === 'CONFIG_INVALID') {
      throw new RegistoError('CONFIG_INVALID', `${e.message}; run \`registo keys init\` with the same PKCS#11 settings first`, e.details);
    }
    throw e;
  }
}

/** The intake key: where packets are decrypted, and the public JWK registration clients encrypt to. */
interface IntakeKeyRef {
  decrypter: IntakeDecrypter;
  publicJwk: Record<string, unknown>;
}

export interface IdentityMacKeys {
  indexKey: MacKeyLike;
  uinKey: MacKeyLike;
  intake: IntakeKeyRef;
  close(): Promise<void>;
}

/**
 * The blind-index, UIN and intake keys: in qualified mode the token's HMAC keys and its
 * `registo-intake` ECDH key (made by `registo keys init`; no key file's are used, and no intake
 * key file is written), otherwise the development key file's.
 */
export async function openIdentityMacKeys(config: RegistoConfig, software: PlatformKeys | null): Promise<IdentityMacKeys> {
  if (config.signer.mode !== 'qualified') {
    const intake = { decrypter: new SoftwareIntakeDecrypter(software!.intakeKey.privateKey), publicJwk: { ...(await exportIntakePublicJwk(software!.intakeKey)) } };
    return { indexKey: software!.indexKey, uinKey: software!.uinKey, intake, close: async () => undefined };
  }
  const p = config.signer.pkcs11!;
  const token = await Pkcs11Token.open({ module: p.module, tokenLabel: p.tokenLabel, userPin: p.userPin, env: p.env });
  try {
    const [indexKey, uinKey] = await Promise.all(HMAC_KEYS.map((k) => Pkcs11MacKey.open(token, k.label)));
    const decrypter = await Pkcs11IntakeDecrypter.open(token, INTAKE_KEY_LABEL);
    return { indexKey: indexKey!, uinKey: uinKey!, intake: { decrypter, publicJwk: decrypter.publishedJwk }, close: () => token.close() };
  } catch (e) {
    await token.close();
    throw e;
  }
}
