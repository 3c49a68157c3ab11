import { randomBytes, webcrypto } from 'node:crypto';
import { expect } from 'chai';
import { CompactEncrypt, importJWK } from 'jose';
import {
  type IntakeDecrypter,
  type IntakeKey,
  SoftwareIntakeDecrypter,
  openPacket,
  sealPacket,
} from '@registo/packets';
import { Pkcs11IntakeDecrypter, Pkcs11Token } from '@registo/hsm';
import { RegistoError, isRegistoError } from '@registo/schemas';
import { type PacketTestEnv, buildHostileCorpus, createPacketTestEnv, validPacket } from '../src/index.js';
import { testSoftHsm } from '../src/support/softhsm.js';

const LABEL = 'contract-intake';
const b64url = (v: string | Uint8Array) => Buffer.from(v).toString('base64url');

/** The code openPacket refuses `body` with, or 'OPENED'. */
async function outcome(body: string | Buffer, env: PacketTestEnv): Promise<string> {
  try {
    await openPacket(body, env.trust);
    return 'OPENED';
  } catch (e) {
    return isRegistoError(e) ? e.code : `not a RegistoError: ${String(e)}`;
  }
}

describe('intake decryption port: the PKCS#11 adapter (SoftHSM2) against the software one', function () {
  this.timeout(120_000);
  let token: Pkcs11Token;
  let pkcs11: Pkcs11IntakeDecrypter;
  let tokenIntake: { kid: string; publicKey: webcrypto.CryptoKey };
  let software: PacketTestEnv;
  let hsmEnv: PacketTestEnv;

  before(async () => {
    const hsm = await testSoftHsm();
    token = await Pkcs11Token.open({ module: hsm.module, tokenLabel: hsm.tokenLabel, userPin: hsm.userPin, env: hsm.env });
    await token.ensureEcDeriveKey(LABEL);
    pkcs11 = await Pkcs11IntakeDecrypter.open(token, LABEL);
    tokenIntake = { kid: 'token-intake', publicKey: (await importJWK({ ...pkcs11.publicJwk, ext: true }, 'ECDH-ES+A256KW')) as webcrypto.CryptoKey };
    software = await createPacketTestEnv();
    // The same world, but the intake key is the token's: packets are sealed to its public half.
    hsmEnv = {
      ...software,
      intake: { ...tokenIntake, privateKey: undefined } as unknown as IntakeKey,
      trust: { trustedCaPems: software.trust.trustedCaPems, now: software.trust.now!, intakeDecrypter: pkcs11, ...(software.trust.contentRules && { contentRules: software.trust.contentRules }) },
      seal: (content, signer = software.device) => sealPacket(content, { device: signer, intakePublicKey: tokenIntake.publicKey, intakeKid: tokenIntake.kid }),
    };
  });
  after(async () => token?.close());

  it('the intake key is made in the token for key agreement only: derive, not sign; sensitive, never extractable; found again by label', async () => {
    const again = await token.ensureEcDeriveKey(LABEL);
    expect(again.created).to.equal(false);
    const priv = (await token.keyAttributes(LABEL)).find((k) => k.class === 'private')!;
    expect(priv).to.deep.include({ keyType: 'ec', token: true, private: true, sensitive: true, extractable: false, neverExtractable: true, local: true, derive: true, sign: false, decrypt: false, unwrap: false });
    expect(await token.heldInTokenProblems(LABEL)).to.deep.equal([]);
    expect(pkcs11.keyRef).to.match(/^pkcs11:.+\/contract-intake$/);
    expect(Object.keys(pkcs11.publicJwk).sort()).to.deep.equal(['crv', 'kty', 'x', 'y']);
  });

  it("decrypts what jose's CompactEncrypt made to the token's public key (random sizes, with and without apu/apv)", async () => {
    for (let i = 0; i < 8; i++) {
      const plaintext = randomBytes(1 + Math.floor(Math.random() * 5000));
      const header: Record<string, unknown> = { alg: 'ECDH-ES+A256KW', enc: 'A256GCM', kid: 'token-intake' };
      const enc = new CompactEncrypt(plaintext).setProtectedHeader(header as never);
      if (i % 2 === 1) enc.setKeyManagementParameters({ apu: randomBytes(8), apv: randomBytes(1 + i) });
      const jwe = await enc.encrypt(tokenIntake.publicKey);
      expect(Buffer.from(await pkcs11.decrypt(jwe)).equals(plaintext), `case ${i}`).to.equal(true);
    }
  });

  it('opens a sealed enrollment packet through the codec', async () => {
    const packet = validPacket({}, software.now);
    const opened = await openPacket(await hsmEnv.seal(packet), hsmEnv.trust);
    expect(opened.packet.regId).to.equal(packet.regId);
  });

  it('refuses the whole hostile-packet corpus with the same codes as the software path', async () => {
    const [viaSoftware, viaToken] = [await buildHostileCorpus(software), await buildHostileCorpus(hsmEnv)];
    expect(viaToken.map((c) => c.name)).to.deep.equal(viaSoftware.map((c) => c.name));
    for (let i = 0; i < viaToken.length; i++) {
      const c = viaToken[i]!;
      expect(await outcome(c.body, hsmEnv), `${c.name} (token)`).to.equal(c.expectedCode);
      expect(await outcome(viaSoftware[i]!.body, software), `${c.name} (software)`).to.equal(c.expectedCode);
    }
  });

  it('refuses an ephemeral key off the curve, of another curve or with a private part, and tampered header/ciphertext/tag: PACKET_DECRYPTION_FAILED on both paths', async () => {
    const variants = async (env: PacketTestEnv): Promise<string[]> => {
      const sealed = await env.seal(validPacket({}, env.now));
      const parts = sealed.split('.');
      const header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8')) as { epk: { x: string; y: string } };
      const withHeader = (h: Record<string, unknown>) => [b64url(JSON.stringify(h)), ...parts.slice(1)].join('.');
      const y = Buffer.from(header.epk.y, 'base64url');
      y[31]! ^= 1;
      const flip = (i: number) => parts.map((p, j) => (j === i ? b64url(Buffer.from(p, 'base64url').map((b, k) => (k === 0 ? b ^ 1 : b))) : p)).join('.');
      const bodies = [
        withHeader({ ...header, epk: { ...header.epk, y: b64url(y) } }),
        withHeader({ ...header, epk: { ...header.epk, crv: 'P-384' } }),
        withHeader({ ...header, epk: { ...header.epk, d: b64url(randomBytes(32)) } }),
        withHeader({ ...header, epk: { kty: 'OKP', crv: 'X25519', x: b64url(randomBytes(32)) } }),
        withHeader({ ...header, apu: b64url('someone else') }),
        withHeader({ ...header, enc: 'A128CBC-HS256' }),
        withHeader({ ...header, alg: 'RSA-OAEP' }),
        flip(1),
        flip(3),
        flip(4),
      ];
      return Promise.all(bodies.map((b) => outcome(b, env)));
    };
    const expected = new Array(10).fill('PACKET_DECRYPTION_FAILED');
    expect(await variants(hsmEnv)).to.deep.equal(expected);
    expect(await variants(software)).to.deep.equal(expected);
  });

  it('a token that is gone is HSM_UNAVAILABLE (the platform\'s trouble), any other adapter failure PACKET_DECRYPTION_FAILED', async () => {
    const sealed = await hsmEnv.seal(validPacket({}, software.now));
    const failing = (error: Error): PacketTestEnv => ({ ...hsmEnv, trust: { ...hsmEnv.trust, intakeDecrypter: { keyRef: 'test', decrypt: async () => { throw error; } } } });
    expect(await outcome(sealed, failing(new RegistoError('HSM_UNAVAILABLE', 'token removed')))).to.equal('HSM_UNAVAILABLE');
    expect(await outcome(sealed, failing(new RegistoError('CONFIG_INVALID', 'whatever')))).to.equal('PACKET_DECRYPTION_FAILED');
    expect(await outcome(sealed, failing(new TypeError('boom')))).to.equal('PACKET_DECRYPTION_FAILED');
    expect(await outcome(sealed, hsmEnv)).to.equal('OPENED');
  });

  it('the software adapter is the jose path the codec always used', async () => {
    const d: IntakeDecrypter = new SoftwareIntakeDecrypter(software.intake.privateKey);
    const sealed = await software.seal(validPacket({}, software.now));
    expect((await d.decrypt(sealed)).length).to.be.greaterThan(0);
    expect(d.keyRef).to.equal('software');
  });
});
