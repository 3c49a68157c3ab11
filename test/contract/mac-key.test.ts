import { createHmac, randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { type MacKey, SoftwareMacKey, blindIndex, blindIndexWith } from '@registo/crypto';
import { Pkcs11MacKey, Pkcs11Token } from '@registo/hsm';
import { generateUin, keyedDigitSource, keyedDigitSourceWith } from '@registo/producers';
import { RegistoError } from '@registo/schemas';
import { testSoftHsm } from '../src/support/softhsm.js';

/** RFC 4231 test cases 6 and 7 (HMAC-SHA-256, a 131-byte key: SoftHSM2 refuses keys under 32 bytes). */
const RFC4231 = [
  { key: Buffer.alloc(131, 0xaa), data: Buffer.from('Test Using Larger Than Block-Size Key - Hash Key First'), mac: '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54' },
  {
    key: Buffer.alloc(131, 0xaa),
    data: Buffer.from('This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.'),
    mac: '9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2',
  },
];

/** What every MacKey does, given a way to make one holding known bytes. */
function macKeyContract(name: string, withKey: (label: string, bytes: Buffer) => Promise<MacKey>): void {
  describe(`MacKey contract: ${name}`, function () {
    this.timeout(120_000);

    it('computes HMAC-SHA256 (RFC 4231 known answers)', async () => {
      for (const [i, v] of RFC4231.entries()) {
        const key = await withKey(`rfc4231-${i}-${randomBytes(4).toString('hex')}`, v.key);
        expect((await key.mac(v.data)).toString('hex')).to.equal(v.mac);
      }
    });

    it('blind indexes and UIN draws under it equal the development key file\'s for the same key bytes', async () => {
      const bytes = randomBytes(32);
      const key = await withKey(`index-${randomBytes(4).toString('hex')}`, bytes);
      expect(await blindIndexWith(' 1234 5678 ', key)).to.equal(blindIndex(' 1234 5678 ', bytes));
      expect(await blindIndexWith('12345678', key)).to.equal(await blindIndexWith('1234 5678', key));
      expect(await blindIndexWith('12345678', key)).to.not.equal(await blindIndexWith('12345679', key));
      // The UIN draw: deterministic per seed, different per seed.
      const a = generateUin(undefined, await keyedDigitSourceWith(key, 'REG-1'));
      expect(generateUin(undefined, await keyedDigitSourceWith(key, 'REG-1'))).to.equal(a);
      expect(generateUin(undefined, await keyedDigitSourceWith(key, 'REG-2'))).to.not.equal(a);
      // Bytes keep the direct derivation (existing development data does not change).
      expect(generateUin(undefined, await keyedDigitSourceWith(bytes, 'REG-1'))).to.equal(generateUin(undefined, keyedDigitSource(bytes, 'REG-1')));
    });
  });
}

macKeyContract('SoftwareMacKey', async (_label, bytes) => new SoftwareMacKey(bytes));

describe('Pkcs11MacKey (SoftHSM2)', function () {
  this.timeout(120_000);
  let token: Pkcs11Token;

  before(async () => {
    const hsm = await testSoftHsm();
    token = await Pkcs11Token.open({ module: hsm.module, tokenLabel: hsm.tokenLabel, userPin: hsm.userPin, env: hsm.env });
  });
  after(async () => token?.close());

  macKeyContract('Pkcs11MacKey (imported known key)', async (label, bytes) => {
    await token.importHmacKey(label, bytes);
    return Pkcs11MacKey.open(token, label);
  });

  it('ensureHmacKey generates a key in the token once: sensitive, never extractable, local; the value cannot be read', async () => {
    const label = `hmac-${randomBytes(4).toString('hex')}`;
    const first = await token.ensureHmacKey(label);
    const again = await token.ensureHmacKey(label);
    expect(first.created).to.equal(true);
    expect(again.created).to.equal(false);
    expect(again.id.equals(first.id)).to.equal(true);
    expect(await token.heldInTokenProblems(label)).to.deep.equal([]);
    expect(() => token.use(() => first.key.getAttribute({ value: null }))).to.throw(/CKR_ATTRIBUTE_SENSITIVE/);
    const key = await Pkcs11MacKey.open(token, label);
    expect(key.keyId).to.equal(`pkcs11:${token.tokenLabel}/${label}`);
    const data = Buffer.from('civil-registry number');
    expect((await key.mac(data)).equals(await key.mac(data))).to.equal(true);
    expect((await key.mac(data)).length).to.equal(32);
    // Not the HMAC under some guessable key.
    expect((await key.mac(data)).equals(createHmac('sha256', Buffer.alloc(32)).update(data).digest())).to.equal(false);
  });

  it('an imported key is reported as not generated in the token (the ceremony refuses it)', async () => {
    const label = `imported-${randomBytes(4).toString('hex')}`;
    await token.importHmacKey(label, randomBytes(32));
    expect((await token.heldInTokenProblems(label)).join()).to.match(/not generated inside the token/);
  });

  it('a missing key, or an AES key under that label, is CONFIG_INVALID', async () => {
    const missing = await Pkcs11MacKey.open(token, 'no-such-hmac-key').catch((e: unknown) => e);
    expect(missing).to.be.instanceOf(RegistoError);
    expect((missing as RegistoError).code).to.equal('CONFIG_INVALID');
    expect((missing as RegistoError).message).to.match(/registo keys init/);
    const aes = `aes-${randomBytes(4).toString('hex')}`;
    await token.ensureAesKey(aes);
    const wrongType = await Pkcs11MacKey.open(token, aes).catch((e: unknown) => e);
    expect((wrongType as RegistoError).code).to.equal('CONFIG_INVALID');
  });
});
