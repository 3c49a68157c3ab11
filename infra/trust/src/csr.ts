import { KeyObject, sign as nodeSign, verify as nodeVerify, webcrypto } from 'node:crypto';
import { RegistoError } from '@registo/schemas';
import { type DerElement, derChildren, derSequence, derTlv, readDer } from './der.js';

/*
 * Holder certificate requests (PKCS#10, RFC 2986), checked fast: the DER is walked once for the
 * few fields issuance needs — the signed CertificationRequestInfo bytes, the public key, the
 * signature — and the self-signature, the proof of possession, is verified with Node's crypto on
 * libuv's worker threads. Only EC P-256 keys are accepted. The CSR's subject and attributes are
 * not used: the certificate's subject and extensions are the holder profile's.
 */

/** SubjectPublicKeyInfo of a P-256 key up to the point: SEQ { SEQ { id-ecPublicKey, prime256v1 }, BIT STRING (0 unused bits) … }. */
const P256_SPKI_PREFIX = {
  uncompressed: Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex'),
  compressed: Buffer.from('3039301306072a8648ce3d020106082a8648ce3d030107032200', 'hex'),
};

const OIDS = {
  ecPublicKey: '1.2.840.10045.2.1',
  prime256v1: '1.2.840.10045.3.1.7',
  rsaEncryption: '1.2.840.113549.1.1.1',
  rsassaPss: '1.2.840.113549.1.1.10',
  ed25519: '1.3.101.112',
  ed448: '1.3.101.113',
  x25519: '1.3.101.110',
  x448: '1.3.101.111',
  dsa: '1.2.840.10040.4.1',
} as const;

const KEY_ALGORITHM_NAMES: Record<string, string> = {
  [OIDS.rsaEncryption]: 'rsa',
  [OIDS.rsassaPss]: 'rsa-pss',
  [OIDS.ed25519]: 'ed25519',
  [OIDS.ed448]: 'ed448',
  [OIDS.x25519]: 'x25519',
  [OIDS.x448]: 'x448',
  [OIDS.dsa]: 'dsa',
};

const CURVE_NAMES: Record<string, string> = {
  '1.3.132.0.34': 'P-384',
  '1.3.132.0.35': 'P-521',
  '1.3.132.0.10': 'secp256k1',
  '1.2.840.10045.3.1.1': 'P-192',
  '1.3.132.0.33': 'P-224',
  '1.3.36.3.3.2.8.1.1.7': 'brainpoolP256r1',
};

/** ECDSA signature algorithms accepted on the CSR (RFC 5758), by the hash Node verifies with. */
const ECDSA_SIGNATURES: Record<string, 'sha256' | 'sha384' | 'sha512'> = {
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
};

export interface ParsedCsr {
  /** The DER CertificationRequestInfo: what the holder signed. */
  certificationRequestInfo: Buffer;
  /** The EC point as in the CSR (0x04‖X‖Y, or compressed). */
  point: Buffer;
  /** The key's SubjectPublicKeyInfo, re-encoded in DER from the point (what the certificate certifies). */
  subjectPublicKeyInfo: Buffer;
  signatureHash: 'sha256' | 'sha384' | 'sha512';
  /** DER ECDSA-Sig-Value. */
  signature: Buffer;
}

function malformed(why: string): RegistoError {
  return new RegistoError('CSR_MALFORMED', `not a DER PKCS#10 certification request: ${why}`, { reason: why });
}

/** Dotted form of the OBJECT IDENTIFIER element `el`. */
export function oidToString(buf: Buffer, el: DerElement): string {
  const arcs: bigint[] = [];
  let value = 0n;
  for (let p = el.contentStart; p < el.end; p++) {
    value = (value << 7n) | BigInt(buf[p]! & 0x7f);
    if ((buf[p]! & 0x80) === 0) {
      arcs.push(value);
      value = 0n;
    }
  }
  if (arcs.length === 0) return '';
  const first = arcs[0]!;
  const head = first < 40n ? [0n, first] : first < 80n ? [1n, first - 40n] : [2n, first - 80n];
  return [...head, ...arcs.slice(1)].join('.');
}

function expect(el: DerElement | undefined, tag: number, what: string): DerElement {
  if (!el || el.tag !== tag) throw malformed(`${what} missing or of the wrong type`);
  return el;
}

/**
 * Walks the CSR's DER. Refusals: CSR_MALFORMED (structure), CSR_KEY_UNSUPPORTED (not EC),
 * CSR_CURVE_UNSUPPORTED (EC, not P-256), CSR_SIGNATURE_INVALID (not an ECDSA signature).
 */
export function parseCsr(der: Buffer): ParsedCsr {
  let outer: DerElement;
  let parts: DerElement[];
  let info: DerElement[];
  try {
    outer = readDer(der);
    if (outer.tag !== 0x30) throw malformed('not a SEQUENCE');
    if (outer.end !== der.length) throw malformed(`${der.length - outer.end} bytes after the request`);
    parts = derChildren(der, outer);
    if (parts.length !== 3) throw malformed(`a CertificationRequest has 3 fields, not ${parts.length}`);
    info = derChildren(der, expect(parts[0], 0x30, 'certificationRequestInfo'));
  } catch (error) {
    if (error instanceof RegistoError && error.code === 'CSR_MALFORMED') throw error;
    throw malformed((error as Error).message);
  }
  try {
    const version = expect(info[0], 0x02, 'version');
    if (version.end - version.contentStart !== 1 || der[version.contentStart] !== 0) throw malformed('version is not v1 (0)');
    expect(info[1], 0x30, 'subject');
    const spki = derChildren(der, expect(info[2], 0x30, 'subjectPKInfo'));
    if (info.length > 4 || (info[3] && info[3].tag !== 0xa0)) throw malformed('unexpected fields after the attributes');
    const algorithm = derChildren(der, expect(spki[0], 0x30, 'key algorithm'));
    const keyOid = oidToString(der, expect(algorithm[0], 0x06, 'key algorithm OID'));
    if (keyOid !== OIDS.ecPublicKey) {
      const name = KEY_ALGORITHM_NAMES[keyOid] ?? keyOid;
      throw new RegistoError('CSR_KEY_UNSUPPORTED', `the request's key is ${name}; only EC P-256 keys are certified`, { keyAlgorithm: name });
    }
    const params = algorithm[1];
    if (!params || params.tag !== 0x06) throw new RegistoError('CSR_CURVE_UNSUPPORTED', 'the request\'s EC key does not name its curve (explicit or implicit parameters); only P-256 is certified', { curve: 'explicit' });
    const curveOid = oidToString(der, params);
    if (curveOid !== OIDS.prime256v1) {
      const name = CURVE_NAMES[curveOid] ?? curveOid;
      throw new RegistoError('CSR_CURVE_UNSUPPORTED', `the request's key is on ${name}; only P-256 is certified`, { curve: name });
    }
    const bits = expect(spki[1], 0x03, 'subjectPublicKey');
    if (der[bits.contentStart] !== 0) throw malformed('the public key BIT STRING has unused bits');
    const point = der.subarray(bits.contentStart + 1, bits.end);
    const form = point.length === 65 && point[0] === 0x04 ? 'uncompressed' : point.length === 33 && (point[0] === 0x02 || point[0] === 0x03) ? 'compressed' : null;
    if (!form) throw malformed(`a P-256 public key is 65 (or 33 compressed) bytes, not ${point.length}`);
    const sigAlgorithm = derChildren(der, expect(parts[1], 0x30, 'signatureAlgorithm'));
    const sigOid = oidToString(der, expect(sigAlgorithm[0], 0x06, 'signature algorithm OID'));
    const signatureHash = ECDSA_SIGNATURES[sigOid];
    if (!signatureHash || sigAlgorithm.length > 1) {
      throw new RegistoError('CSR_SIGNATURE_INVALID', `the request is signed with ${sigOid}, not ECDSA with SHA-256/384/512`, { signatureAlgorithm: sigOid });
    }
    const signature = expect(parts[2], 0x03, 'signature');
    if (der[signature.contentStart] !== 0) throw malformed('the signature BIT STRING has unused bits');
    return {
      certificationRequestInfo: der.subarray(parts[0]!.start, parts[0]!.end),
      point,
      subjectPublicKeyInfo: Buffer.concat([P256_SPKI_PREFIX[form], point]),
      signatureHash,
      signature: der.subarray(signature.contentStart + 1, signature.end),
    };
  } catch (error) {
    if (error instanceof RegistoError && error.code.startsWith('CSR_')) throw error;
    throw malformed((error as Error).message);
  }
}

/**
 * Parses the CSR and verifies its self-signature with the key it carries (proof of possession),
 * in this thread. The key is imported from its raw point (the cheapest import Node offers);
 * `synchronous` verifies on this thread (a worker's), otherwise on libuv's worker threads.
 */
export async function checkCsrHere(der: Buffer, synchronous = false): Promise<ParsedCsr> {
  const csr = parseCsr(der);
  let key: KeyObject;
  try {
    key = KeyObject.from(await webcrypto.subtle.importKey('raw', csr.point, { name: 'ECDSA', namedCurve: 'P-256' }, true, ['verify']));
  } catch {
    throw malformed('the public key is not a point on P-256');
  }
  const ok = synchronous
    ? safeVerify(() => nodeVerify(csr.signatureHash, csr.certificationRequestInfo, key, csr.signature))
    : await new Promise<boolean>((resolve) => {
        nodeVerify(csr.signatureHash, csr.certificationRequestInfo, key, csr.signature, (error, valid) => resolve(!error && valid));
      });
  if (!ok) throw new RegistoError('CSR_SIGNATURE_INVALID', 'the request\'s signature does not verify with its own key: no proof of possession');
  return csr;
}

function safeVerify(verify: () => boolean): boolean {
  try {
    return verify();
  } catch {
    return false; // a signature that is not DER
  }
}

/** `checkCsrHere` on this thread: see `CsrCheckPool` for the fast path. */
export const checkCsr = (der: Buffer): Promise<ParsedCsr> => checkCsrHere(der);

/**
 * A PKCS#10 request for `publicKeySpki`, signed with `privateKey` (ECDSA with SHA-256): what a
 * wallet or card personalisation does on the holder's side. For simulators, tests and benchmarks.
 */
export function encodeCsr(privateKey: KeyObject, publicKeySpki: Buffer, subjectDer: Buffer = Buffer.from('3000', 'hex')): Buffer {
  const info = derSequence(Buffer.from('020100', 'hex'), subjectDer, publicKeySpki, Buffer.from('a000', 'hex'));
  const signature = nodeSign('sha256', info, { key: privateKey, dsaEncoding: 'der' });
  return derSequence(info, Buffer.from('300a06082a8648ce3d040302', 'hex'), derTlv(0x03, Buffer.from([0]), signature));
}
