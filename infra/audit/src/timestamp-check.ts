import { X509Certificate, createHash, verify as nodeVerify } from 'node:crypto';
import { AsnParser } from '@peculiar/asn1-schema';
import { ContentInfo, SignedData, id_signedData } from '@peculiar/asn1-cms';
import { RegistoError } from '@registo/schemas';

/*
 * Checks an RFC 3161 TimeStampToken offline: a CMS SignedData whose content is a TSTInfo, whose
 * message imprint is SHA-256 of what was timestamped, whose signed attributes carry the digest of
 * that TSTInfo, and whose signature verifies with the TSA certificate (issued by the given CA when
 * one is given). This is what `openssl ts -verify` checks, without spawning it per checkpoint.
 */

const ID_CT_TSTINFO = '1.2.840.113549.1.9.16.1.4';
const ID_MESSAGE_DIGEST = '1.2.840.113549.1.9.4';
const ID_SHA256 = '2.16.840.1.101.3.4.2.1';

/** Reads one DER TLV at `offset`: its tag, where its content starts and ends. */
function tlv(der: Buffer, offset: number): { tag: number; start: number; end: number } {
  const tag = der[offset]!;
  let len = der[offset + 1]!;
  let start = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + der[start + i]!;
    start += n;
  }
  return { tag, start, end: start + len };
}

/** TSTInfo ::= SEQUENCE { version, policy, messageImprint SEQUENCE { AlgorithmIdentifier, OCTET STRING }, serialNumber, genTime, … } */
function messageImprint(tstInfo: Buffer): { algorithm: string; digest: Buffer; genTime: string } {
  const seq = tlv(tstInfo, 0);
  const version = tlv(tstInfo, seq.start);
  const policy = tlv(tstInfo, version.end);
  const imprint = tlv(tstInfo, policy.end);
  const alg = tlv(tstInfo, imprint.start);
  const algOid = tlv(tstInfo, alg.start);
  const hashed = tlv(tstInfo, alg.end);
  const serial = tlv(tstInfo, imprint.end);
  const genTime = tlv(tstInfo, serial.end);
  return {
    algorithm: decodeOid(tstInfo.subarray(algOid.start, algOid.end)),
    digest: tstInfo.subarray(hashed.start, hashed.end),
    genTime: tstInfo.subarray(genTime.start, genTime.end).toString('latin1'),
  };
}

function decodeOid(bytes: Buffer): string {
  const parts = [Math.floor(bytes[0]! / 40), bytes[0]! % 40];
  let v = 0;
  for (const b of bytes.subarray(1)) {
    v = v * 128 + (b & 0x7f);
    if (!(b & 0x80)) {
      parts.push(v);
      v = 0;
    }
  }
  return parts.join('.');
}

/** The bytes of the first SignerInfo's [0] signedAttrs, found by walking the DER. */
function signedAttributesBytes(token: Buffer): Buffer | null {
  const content = tlv(token, 0); // ContentInfo
  const type = tlv(token, content.start);
  const explicit = tlv(token, type.end); // [0]
  const sd = tlv(token, explicit.start); // SignedData
  let at = sd.start;
  let signerInfos: { tag: number; start: number; end: number } | null = null;
  while (at < sd.end) {
    const field = tlv(token, at);
    signerInfos = field; // the last field is signerInfos
    at = field.end;
  }
  if (!signerInfos || signerInfos.tag !== 0x31) return null;
  const si = tlv(token, signerInfos.start);
  at = si.start;
  while (at < si.end) {
    const field = tlv(token, at);
    if (field.tag === 0xa0) return Buffer.from(token.subarray(at, field.end));
    at = field.end;
  }
  return null;
}

export interface TimestampInfo {
  genTime: string;
}

/** Throws AUDIT_VERIFICATION_FAILED unless `token` timestamps `digest` (SHA-256) under `tsaCertificatePem`. */
export function checkTimestampToken(token: Buffer, digest: Buffer, tsaCertificatePem: string, caCertificatePem?: string): TimestampInfo {
  const fail = (why: string): never => {
    throw new RegistoError('AUDIT_VERIFICATION_FAILED', `timestamp: ${why}`);
  };
  let signed: SignedData;
  try {
    const info = AsnParser.parse(token, ContentInfo);
    if (info.contentType !== id_signedData) fail('not a CMS SignedData');
    signed = AsnParser.parse(info.content, SignedData);
  } catch (e) {
    if (e instanceof RegistoError) throw e;
    return fail(`not a TimeStampToken (${(e as Error).message})`);
  }
  if (signed.encapContentInfo.eContentType !== ID_CT_TSTINFO) fail('the content is not a TSTInfo');
  const content = signed.encapContentInfo.eContent;
  const tstInfo = Buffer.from((content?.single?.buffer ?? content?.any) as ArrayBuffer);
  const imprint = messageImprint(tstInfo);
  if (imprint.algorithm !== ID_SHA256 || !imprint.digest.equals(digest)) fail('its message imprint is not the SHA-256 of the note');
  const signer = signed.signerInfos[0];
  if (!signer?.signedAttrs) fail('no signed attributes');
  const md = signer!.signedAttrs!.find((a) => a.attrType === ID_MESSAGE_DIGEST);
  const mdValue = md ? Buffer.from(md.attrValues[0]!).subarray(2) : null;
  if (!mdValue || !mdValue.equals(createHash('sha256').update(tstInfo).digest())) fail('the signed digest is not that of the TSTInfo');
  // The signature is over the DER SET OF the signed attributes (RFC 5652 §5.4).
  // The signature is over the DER SET OF the signed attributes (RFC 5652 §5.4): their own bytes, re-tagged.
  const attrs = signedAttributesBytes(token);
  if (!attrs) return fail('no signed attributes');
  attrs[0] = 0x31;
  const tsa = new X509Certificate(tsaCertificatePem);
  if (!nodeVerify('sha256', attrs, tsa.publicKey, Buffer.from(signer!.signature.buffer))) fail('the signature does not verify with the TSA certificate');
  if (caCertificatePem) {
    const ca = new X509Certificate(caCertificatePem);
    if (!tsa.checkIssued(ca) || !tsa.verify(ca.publicKey)) fail('the TSA certificate is not issued by the given CA');
  }
  return { genTime: imprint.genTime };
}
