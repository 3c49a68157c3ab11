import { type KeyObject, type webcrypto } from 'node:crypto';
import { compactDecrypt } from 'jose';
import { PACKET_CONTENT_ENCRYPTION, PACKET_KEY_MANAGEMENT_ALG } from './authority.js';

/**
 * The port "decrypt a compact JWE addressed to the intake key" (ECDH-ES+A256KW / A256GCM). The
 * codec checks the packet's structure and its alg/enc before calling it and maps any error it
 * throws to PACKET_DECRYPTION_FAILED — except HSM_UNAVAILABLE, which is the platform's trouble,
 * not the packet's. Adapters: the software key (jose) below, the PKCS#11 token in
 * `../hsm/pkcs11-intake-decrypter.ts`.
 */
export interface IntakeDecrypter {
  /** Where the private key lives, for logs and /readyz: `software` or `pkcs11:<token>/<label>`. */
  readonly keyRef: string;
  decrypt(compactJwe: string): Promise<Uint8Array>;
}

/** The software adapter: jose's compactDecrypt with a private key held in this process. */
export class SoftwareIntakeDecrypter implements IntakeDecrypter {
  readonly keyRef = 'software';
  constructor(private readonly privateKey: webcrypto.CryptoKey | KeyObject) {}

  async decrypt(compactJwe: string): Promise<Uint8Array> {
    const { plaintext } = await compactDecrypt(compactJwe, this.privateKey, {
      keyManagementAlgorithms: [PACKET_KEY_MANAGEMENT_ALG],
      contentEncryptionAlgorithms: [PACKET_CONTENT_ENCRYPTION],
    });
    return plaintext;
  }
}
