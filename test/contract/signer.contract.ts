import { createPublicKey, verify } from 'node:crypto';
import { expect } from 'chai';
import { type Signer, type SignerMode, ecdsaDerToRaw, ecdsaRawToDer } from '@registo/hsm';

export interface SignerContractOptions {
  open(): Promise<Signer>;
  mode: SignerMode;
  close?(signer: Signer): Promise<void>;
}

/** Reads a DER ECDSA-Sig-Value: SEQUENCE { INTEGER r, INTEGER s }, short-form lengths (P-256). */
function parseDerSignature(der: Buffer): { r: Buffer; s: Buffer } {
  expect(der[0], 'SEQUENCE').to.equal(0x30);
  expect(der[1], 'sequence length').to.equal(der.length - 2);
  const ints: Buffer[] = [];
  let p = 2;
  for (let k = 0; k < 2; k++) {
    expect(der[p], 'INTEGER').to.equal(0x02);
    const length = der[p + 1]!;
    const value = der.subarray(p + 2, p + 2 + length);
    expect(value.length).to.equal(length);
    expect(value[0]! & 0x80, 'a positive INTEGER').to.equal(0);
    if (value.length > 1) expect(value[0] === 0 && (value[1]! & 0x80) === 0, 'minimal INTEGER encoding').to.equal(false);
    ints.push(value);
    p += 2 + length;
  }
  expect(p, 'nothing after s').to.equal(der.length);
  return { r: ints[0]!, s: ints[1]! };
}

/** What every Signer does: ECDSA P-256 over SHA-256, DER signatures that Node's crypto verifies. */
export function signerContract(name: string, options: SignerContractOptions): void {
  describe(`Signer contract: ${name}`, () => {
    let signer: Signer;
    let publicKey: ReturnType<typeof createPublicKey>;

    before(async () => {
      signer = await options.open();
      publicKey = createPublicKey({ key: await signer.publicKeySpki(), format: 'der', type: 'spki' });
    });
    after(async () => {
      if (!signer) return;
      if (options.close) await options.close(signer);
      else await signer.close?.();
    });

    it(`says its mode (${options.mode}) and key label`, () => {
      expect(signer.mode).to.equal(options.mode);
      expect(signer.keyLabel).to.be.a('string').and.not.equal('');
    });

    it('publishes an EC P-256 public key as DER SubjectPublicKeyInfo', async () => {
      const spki = await signer.publicKeySpki();
      expect(publicKey.asymmetricKeyType).to.equal('ec');
      expect(publicKey.asymmetricKeyDetails?.namedCurve).to.equal('prime256v1');
      expect(createPublicKey({ key: spki, format: 'der', type: 'spki' }).export({ type: 'spki', format: 'der' }).equals(spki)).to.equal(true);
      expect((await signer.publicKeySpki()).equals(spki), 'the same key every time').to.equal(true);
    });

    it('signs so that crypto.verify (sha256, DER) accepts it', async () => {
      const data = Buffer.from('Registo signer contract: a message');
      const signature = await signer.sign(data);
      expect(verify('sha256', data, { key: publicKey, dsaEncoding: 'der' }, signature)).to.equal(true);
    });

    it('returns DER ECDSA-Sig-Value (SEQUENCE of two minimal positive INTEGERs)', async () => {
      for (let i = 0; i < 40; i++) {
        const signature = await signer.sign(Buffer.from(`message ${i}`));
        expect(signature.length).to.be.within(8, 72);
        const { r, s } = parseDerSignature(signature);
        expect(r.length).to.be.within(1, 33);
        expect(s.length).to.be.within(1, 33);
        const raw = ecdsaDerToRaw(signature);
        expect(raw.length).to.equal(64);
        expect(ecdsaRawToDer(raw).equals(signature), 'DER → r‖s → DER is the identity').to.equal(true);
      }
    });

    it('different data gives different signatures; the same data signed twice verifies both times', async () => {
      const a = await signer.sign(Buffer.from('document A'));
      const b = await signer.sign(Buffer.from('document B'));
      expect(a.equals(b)).to.equal(false);
      const again = [await signer.sign(Buffer.from('document A')), await signer.sign(Buffer.from('document A'))];
      for (const s of again) expect(verify('sha256', Buffer.from('document A'), { key: publicKey, dsaEncoding: 'der' }, s)).to.equal(true);
      expect(verify('sha256', Buffer.from('document B'), { key: publicKey, dsaEncoding: 'der' }, a), "A's signature does not verify B").to.equal(false);
    });

    it('a changed byte of the data or of the signature fails verification', async () => {
      const data = Buffer.from('the certificate body that gets signed, byte for byte');
      const signature = await signer.sign(data);
      for (const at of [0, 7, data.length - 1]) {
        const altered = Buffer.from(data);
        altered[at]! ^= 0x01;
        expect(verify('sha256', altered, { key: publicKey, dsaEncoding: 'der' }, signature), `data byte ${at}`).to.equal(false);
      }
      for (const at of [signature.length - 1, signature.length - 10]) {
        const altered = Buffer.from(signature);
        altered[at]! ^= 0x01;
        let ok: boolean;
        try {
          ok = verify('sha256', data, { key: publicKey, dsaEncoding: 'der' }, altered);
        } catch {
          ok = false;
        }
        expect(ok, `signature byte ${at}`).to.equal(false);
      }
    });

    it('signs empty and large inputs', async () => {
      for (const data of [Buffer.alloc(0), Buffer.alloc(1024 * 1024, 0xab)]) {
        expect(verify('sha256', data, { key: publicKey, dsaEncoding: 'der' }, await signer.sign(data))).to.equal(true);
      }
    });

    it('signRaw, where offered, is r‖s (64 bytes) over the same digest', async function () {
      if (!signer.signRaw) this.skip();
      const data = Buffer.from('a JWS signing input');
      const raw = await signer.signRaw!(data);
      expect(raw.length).to.equal(64);
      expect(verify('sha256', data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, raw)).to.equal(true);
    });

    it('many signatures requested at once all verify', async () => {
      const inputs = Array.from({ length: 200 }, (_, i) => Buffer.from(`concurrent ${i}`));
      const signatures = await Promise.all(inputs.map((d) => signer.sign(d)));
      signatures.forEach((s, i) => expect(verify('sha256', inputs[i]!, { key: publicKey, dsaEncoding: 'der' }, s), `input ${i}`).to.equal(true));
    });
  });
}
