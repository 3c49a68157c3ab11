import { expect } from 'chai';
import { PGliteDriver } from '@registo/event-store';
import { SoftwareKeyWrapper, SubjectSealer } from '../src/index.js';
import { isRegistoError } from '@registo/schemas';

async function expectCode(p: Promise<unknown>, code: string): Promise<void> {
  try {
    await p;
  } catch (e) {
    expect(isRegistoError(e), String(e)).to.equal(true);
    expect((e as { code: string }).code).to.equal(code);
    return;
  }
  expect.fail(`expected ${code}`);
}

describe('personal data sealing (per-subject AES-256-GCM keys wrapped by a KEK)', () => {
  let driver: PGliteDriver;
  let sealer: SubjectSealer;
  const wrapper = SoftwareKeyWrapper.generate();
  const person = { givenNames: 'Maria da Conceição', surname: 'Neto', dateOfBirth: '1990-04-12', district: 'Mé-Zóchi' };

  // One embedded database for the suite (it takes seconds to start); each test uses its own subjects.
  before(async () => {
    driver = await PGliteDriver.open();
    sealer = await SubjectSealer.open(driver, wrapper);
  });
  after(() => driver.close());

  it('seals and opens; every sealing uses a fresh IV; the stored key is only the wrapped one', async () => {
    const a = await sealer.seal('subject-1', person);
    const b = await sealer.seal('subject-1', person);
    expect(a.ciphertext).to.not.equal(b.ciphertext);
    expect(a).to.include({ subjectId: 'subject-1', keyVersion: 1, alg: 'A256GCM' });
    expect(await sealer.open(a)).to.deep.equal(person);
    expect(a.ciphertext).to.not.include('Conceição');
    const [row] = await driver.query<{ wrapped: Uint8Array }>(`SELECT wrapped FROM registo_subject_keys WHERE subject_id = 'subject-1'`);
    expect(Buffer.from(row!.wrapped)).to.have.length(40); // 32-byte key + 8-byte RFC 3394 integrity block
  });

  it('refuses tampered ciphertext and ciphertext moved to another subject', async () => {
    const sealed = await sealer.seal('subject-3', person);
    await sealer.seal('subject-4', { other: true });
    const bytes = Buffer.from(sealed.ciphertext, 'base64url');
    bytes[3] = bytes[3]! ^ 0x01;
    await expectCode(sealer.open({ ...sealed, ciphertext: bytes.toString('base64url') }), 'SEALED_DATA_INVALID');
    await expectCode(sealer.open({ ...sealed, subjectId: 'subject-4' }), 'SEALED_DATA_INVALID');
  });

  it('erasure destroys the key: nothing opens again, nothing new is sealed, other subjects are untouched', async () => {
    const gone = await sealer.seal('subject-5', person);
    const kept = await sealer.seal('subject-6', person);
    await sealer.destroy('subject-5');
    await expectCode(sealer.open(gone), 'SUBJECT_KEY_DESTROYED');
    await expectCode(sealer.seal('subject-5', person), 'SUBJECT_KEY_DESTROYED');
    expect(await sealer.open(kept)).to.deep.equal(person);
    const [row] = await driver.query<{ wrapped: unknown; destroyed_at: unknown }>(`SELECT wrapped, destroyed_at FROM registo_subject_keys WHERE subject_id = 'subject-5'`);
    expect(row!.wrapped).to.equal(null);
    expect(row!.destroyed_at).to.not.equal(null);
  });

  it('concurrent first seals of one subject agree on one key', async () => {
    const sealed = await Promise.all(Array.from({ length: 10 }, (_, i) => sealer.seal('subject-9', { i })));
    for (const [i, s] of sealed.entries()) expect(await sealer.open(s)).to.deep.equal({ i });
    expect(await driver.query(`SELECT 1 FROM registo_subject_keys WHERE subject_id = 'subject-9'`)).to.have.length(1);
  });

  it('another KEK cannot unwrap the data keys', async () => {
    const sealed = await sealer.seal('subject-7', person);
    const other = await SubjectSealer.open(driver, SoftwareKeyWrapper.generate('software-kek-2'));
    await expectCode(other.open(sealed), 'SUBJECT_KEY_UNAVAILABLE');
  });
});
