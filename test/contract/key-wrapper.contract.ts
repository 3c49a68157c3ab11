import { randomBytes } from 'node:crypto';
import { expect } from 'chai';
import { PGliteDriver } from '@registo/event-store';
import { type KeyWrapper, SubjectSealer } from '@registo/crypto';
import { refusal } from '../src/support/refusal.js';

export interface KeyWrapperContractOptions {
  kind: KeyWrapper['kind'];
  /** The wrapper under test. */
  open(): Promise<KeyWrapper>;
  /** A wrapper of the same kind under a different KEK. */
  openOther(): Promise<KeyWrapper>;
  close?(wrapper: KeyWrapper): Promise<void>;
}

/** What every KeyWrapper does: wraps 32-byte data keys so that only its KEK unwraps them, intact. */
export function keyWrapperContract(name: string, options: KeyWrapperContractOptions): void {
  describe(`KeyWrapper contract: ${name}`, () => {
    let wrapper: KeyWrapper;
    let other: KeyWrapper;
    let driver: PGliteDriver | undefined;

    before(async () => {
      wrapper = await options.open();
      other = await options.openOther();
    });
    after(async () => {
      await driver?.close();
      for (const w of [wrapper, other]) {
        if (!w) continue;
        if (options.close) await options.close(w);
      }
    });

    it(`is of kind ${options.kind} and names its KEK`, () => {
      expect(wrapper.kind).to.equal(options.kind);
      expect(wrapper.kekId).to.be.a('string').and.not.equal('');
      expect(other.kekId).to.not.equal(wrapper.kekId);
    });

    it('wraps and unwraps 32-byte data keys; the wrapped form does not contain the key', async () => {
      for (let i = 0; i < 50; i++) {
        const key = randomBytes(32);
        const wrapped = await wrapper.wrap(key);
        expect(wrapped.length).to.be.greaterThan(32);
        expect(wrapped.includes(key.subarray(0, 8))).to.equal(false);
        expect((await wrapper.unwrap(wrapped)).equals(key)).to.equal(true);
      }
    });

    it('refuses a tampered wrapped key (any byte, truncated, extended) with SUBJECT_KEY_UNAVAILABLE', async () => {
      const key = randomBytes(32);
      const wrapped = await wrapper.wrap(key);
      for (const at of [0, 5, 8, 20, wrapped.length - 1]) {
        const altered = Buffer.from(wrapped);
        altered[at]! ^= 0x40;
        expect((await refusal(wrapper.unwrap(altered))).code, `byte ${at}`).to.equal('SUBJECT_KEY_UNAVAILABLE');
      }
      expect((await refusal(wrapper.unwrap(wrapped.subarray(0, wrapped.length - 8)))).code).to.equal('SUBJECT_KEY_UNAVAILABLE');
      expect((await refusal(wrapper.unwrap(Buffer.concat([wrapped, Buffer.alloc(8)])))).code).to.equal('SUBJECT_KEY_UNAVAILABLE');
      expect((await refusal(wrapper.unwrap(Buffer.alloc(0)))).code).to.equal('SUBJECT_KEY_UNAVAILABLE');
      expect((await wrapper.unwrap(wrapped)).equals(key), 'the original still unwraps').to.equal(true);
    });

    it('a data key wrapped under another KEK does not unwrap', async () => {
      const wrapped = await other.wrap(randomBytes(32));
      expect((await refusal(wrapper.unwrap(wrapped))).code).to.equal('SUBJECT_KEY_UNAVAILABLE');
    });

    it('SubjectSealer seals and opens with it, and erasure still makes data unreadable', async () => {
      driver = await PGliteDriver.open();
      const sealer = await SubjectSealer.open(driver, wrapper);
      const person = { name: 'Maria da Graça Trovoada', born: '1984-02-29', district: 'Água Grande' };
      const sealed = await sealer.seal('subject-1', person);
      expect(await sealer.open(sealed)).to.deep.equal(person);
      // The data key is stored only wrapped, under this KEK's id.
      const rows = await driver.query<{ kek_id: string; wrapped: Uint8Array }>('SELECT kek_id, wrapped FROM registo_subject_keys WHERE subject_id = $1', ['subject-1']);
      expect(rows[0]!.kek_id).to.equal(wrapper.kekId);
      // A second sealer over the same table (a restart) opens what the first sealed.
      const again = await SubjectSealer.open(driver, wrapper);
      expect(await again.open(await sealer.seal('subject-1', { more: true }))).to.deep.equal({ more: true });
      expect(await again.open(sealed)).to.deep.equal(person);
      // Under another KEK the stored data key does not unwrap.
      const stranger = await SubjectSealer.open(driver, other);
      expect((await refusal(stranger.open(sealed))).code).to.equal('SUBJECT_KEY_UNAVAILABLE');
      await sealer.destroy('subject-1');
      expect((await refusal(again.open(sealed))).code).to.equal('SUBJECT_KEY_DESTROYED');
    });

    it('many wraps and unwraps at once all round-trip', async () => {
      const keys = Array.from({ length: 100 }, () => randomBytes(32));
      const wrapped = await Promise.all(keys.map((k) => wrapper.wrap(k)));
      const back = await Promise.all(wrapped.map((w) => wrapper.unwrap(w)));
      back.forEach((k, i) => expect(k.equals(keys[i]!)).to.equal(true));
    });
  });
}
