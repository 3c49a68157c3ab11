import { createHash, createPublicKey, verify as nodeVerify } from 'node:crypto';
import { RegistoError } from '@registo/schemas';
import { decodeBase64Strict } from '@registo/crypto';

/*
 * Witness cosignatures (c2sp.org/tlog-cosignature, Ed25519 `cosignature/v1`, signature type 0x04):
 * a witness that has checked a checkpoint's consistency with what it saw before signs
 *   "cosignature/v1\n" ‖ "time <POSIX seconds>\n" ‖ checkpoint body
 * and answers a note signature line `— <witness name> base64(key ID ‖ u64 timestamp ‖ Ed25519 signature)`,
 * key ID = SHA-256(name ‖ "\n" ‖ 0x04 ‖ 32-byte public key)[:4]. Witnesses are known by their
 * verifier keys, `<name>+<key ID hex>+base64(0x04 ‖ public key)` (c2sp.org/signed-note vkeys).
 */

export const COSIGNATURE_TYPE = 0x04;

export interface Witness {
  name: string;
  keyId: Buffer;
  publicKey: Buffer;
}

export function witnessKeyId(name: string, publicKey: Buffer): Buffer {
  return createHash('sha256').update(`${name}\n`).update(Buffer.from([COSIGNATURE_TYPE])).update(publicKey).digest().subarray(0, 4);
}

/** Parses a verifier key `<name>+<hex key ID>+<base64(0x04 ‖ key)>`. */
export function parseWitnessKey(vkey: string): Witness {
  const bad = (why: string): never => {
    throw new RegistoError('CONFIG_INVALID', `witness key '${vkey.slice(0, 40)}…': ${why}`);
  };
  // Names hold no '+', and base64 may: split at the first two.
  const v = vkey.trim();
  const a = v.indexOf('+');
  const b = a < 0 ? -1 : v.indexOf('+', a + 1);
  const [name, id, key] = b < 0 ? [] : [v.slice(0, a), v.slice(a + 1, b), v.slice(b + 1)];
  if (!name || !id || !key || !/^[0-9a-fA-F]{8}$/.test(id)) bad('not <name>+<key ID>+<key>');
  const raw = decodeBase64Strict(key!);
  if (!raw || raw.length !== 33 || raw[0] !== COSIGNATURE_TYPE) return bad('not an Ed25519 cosignature key (type 0x04, 32 bytes)');
  const publicKey = raw.subarray(1);
  const keyId = witnessKeyId(name!, publicKey);
  if (keyId.toString('hex') !== id!.toLowerCase()) bad(`its key ID is ${keyId.toString('hex')}, not ${id}`);
  return { name: name!, keyId, publicKey };
}

export function witnessVerifierKey(name: string, publicKey: Buffer): string {
  return `${name}+${witnessKeyId(name, publicKey).toString('hex')}+${Buffer.concat([Buffer.from([COSIGNATURE_TYPE]), publicKey]).toString('base64')}`;
}

export function cosignedMessage(checkpointBody: string, timestamp: number): Buffer {
  return Buffer.from(`cosignature/v1\ntime ${timestamp}\n${checkpointBody}`, 'utf8');
}

export interface Cosignature {
  witness: string;
  keyId: string;
  /** POSIX seconds the witness signed at. */
  timestamp: number;
  /** The note signature line, as the witness sent it (without newline). */
  line: string;
}

/**
 * Checks one cosignature line over `checkpointBody` against the known witnesses. Throws
 * AUDIT_COSIGNATURE_INVALID naming why (unknown witness, bad format, signature does not verify).
 */
export function verifyCosignature(line: string, checkpointBody: string, witnesses: readonly Witness[], nowSeconds = Math.floor(Date.now() / 1000)): Cosignature {
  const bad = (why: string): never => {
    throw new RegistoError('AUDIT_COSIGNATURE_INVALID', `cosignature: ${why}`);
  };
  const m = /^— (\S+) ([A-Za-z0-9+/=]+)$/u.exec(line.trim());
  if (!m) return bad('not a note signature line "— <name> <base64>"');
  const raw = decodeBase64Strict(m[2]!);
  if (!raw) return bad('the signature is not canonical base64');
  if (raw.length !== 4 + 8 + 64) return bad(`an Ed25519 cosignature is 76 bytes, this one ${raw.length}`);
  const keyId = raw.subarray(0, 4);
  const witness = witnesses.find((w) => w.name === m[1] && w.keyId.equals(keyId));
  if (!witness) return bad(`no known witness ${m[1]} with key ID ${keyId.toString('hex')}`);
  const timestamp = raw.readBigUInt64BE(4);
  if (timestamp > BigInt(nowSeconds + 300)) return bad('its timestamp is in the future');
  const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: witness.publicKey.toString('base64url') }, format: 'jwk' });
  if (!nodeVerify(null, cosignedMessage(checkpointBody, Number(timestamp)), key, raw.subarray(12))) return bad(`the signature of ${witness.name} does not verify over this checkpoint`);
  return { witness: witness.name, keyId: keyId.toString('hex'), timestamp: Number(timestamp), line: line.trim() };
}
