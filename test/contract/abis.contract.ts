import { expect } from 'chai';
import { randomUUID } from 'node:crypto';
import type { BiometricIdentification, BiometricSample } from '@registo/external';
import { expectExternalError } from './external-errors.js';

/** What each ABIS adapter's test provides to run the one contract suite. */
export interface BiometricIdentificationHarness {
  name: string;
  open(): Promise<BiometricIdentification>;
  /** One capture of a person; another captureSeed is another capture of the same person. */
  capture(personKey: string, captureSeed: number): BiometricSample[];
  cleanup(): Promise<void>;
}

export function biometricIdentificationContract(harness: BiometricIdentificationHarness): void {
  describe(`BiometricIdentification contract: ${harness.name}`, () => {
    let abis: BiometricIdentification;
    // Fresh names per run, so a gallery that outlives the suite never turns earlier runs into duplicates.
    const run = randomUUID();
    const ref = (name: string): string => `${run}-${name}`;
    const person = (name: string): string => `${run}-person-${name}`;
    const identify = (referenceId: string, personKey: string, captureSeed: number) =>
      abis.identify({ referenceId: ref(referenceId), biometrics: harness.capture(person(personKey), captureSeed) });

    before(async () => {
      abis = await harness.open();
    });
    after(() => harness.cleanup());

    it('matches nobody for a newcomer', async () => {
      expect(await identify('newcomer', 'newcomer', 1)).to.deep.equal({ matches: [] });
    });

    it('finds an earlier capture of the same person, with a score in (0, 1]', async () => {
      await identify('ana-1', 'ana', 1);
      const { matches } = await identify('ana-2', 'ana', 2);
      expect(matches.map((m) => m.referenceId)).to.deep.equal([ref('ana-1')]);
      expect(matches[0]!.score).to.be.greaterThan(0).and.at.most(1);
    });

    it('does not match different people with each other', async () => {
      for (const name of ['bia', 'caio', 'dina', 'edu', 'fabio']) {
        expect((await identify(name, name, 1)).matches, name).to.deep.equal([]);
      }
    });

    it('lists every earlier capture, highest score first', async () => {
      await identify('gil-1', 'gil', 1);
      await identify('gil-2', 'gil', 2);
      const { matches } = await identify('gil-3', 'gil', 3);
      expect(matches.map((m) => m.referenceId).sort()).to.deep.equal([ref('gil-1'), ref('gil-2')]);
      expect(matches[0]!.score).to.be.at.least(matches[1]!.score);
    });

    it('gives the first answer again when an identification is retried, never matching itself', async () => {
      await identify('hugo-1', 'hugo', 1);
      const first = await identify('hugo-2', 'hugo', 2);
      await identify('hugo-3', 'hugo', 3);
      const retried = await identify('hugo-2', 'hugo', 2);
      expect(retried).to.deep.equal(first);
      expect(retried.matches.map((m) => m.referenceId)).not.to.include(ref('hugo-2'));
    });

    it('refuses a referenceId reused with other templates (EXTERNAL_REJECTED, 409)', async () => {
      await identify('ines', 'ines', 1);
      const error = await expectExternalError(identify('ines', 'someone-else', 1), 'EXTERNAL_REJECTED');
      expect(error.details).to.include({ status: 409, retryable: false });
    });

    const verify = (referenceIds: string[], personKey: string, captureSeed: number) =>
      abis.verify({ referenceIds: referenceIds.map(ref), biometrics: harness.capture(person(personKey), captureSeed) });

    it('verifies a new capture of an enrolled person against their reference (1:1)', async () => {
      await identify('kim', 'kim', 1);
      const result = await verify(['kim'], 'kim', 2);
      expect(result).to.include({ outcome: 'MATCH', referenceId: ref('kim') });
      expect(result.score).to.be.greaterThan(0).and.at.most(1);
    });

    it("does not verify someone else's templates against a person's reference", async () => {
      await identify('lia', 'lia', 1);
      await identify('mario', 'mario', 1);
      const result = await verify(['lia'], 'mario', 2);
      expect(result).to.include({ outcome: 'NO_MATCH', referenceId: ref('lia') });
      expect(result.score).to.be.at.least(0).and.below(0.9);
    });

    it('names the best of several references, ignores those it does not hold, and says NO_REFERENCE when it holds none', async () => {
      await identify('nuno-1', 'nuno', 1);
      await identify('olga', 'olga', 1);
      expect(await verify(['olga', 'never-held', 'nuno-1'], 'nuno', 2)).to.include({ outcome: 'MATCH', referenceId: ref('nuno-1') });
      expect(await verify(['never-held', 'nor-this'], 'nuno', 3)).to.deep.equal({ outcome: 'NO_REFERENCE', score: null, referenceId: null });
      await abis.remove(ref('olga'));
      expect(await verify(['olga'], 'olga', 2)).to.deep.equal({ outcome: 'NO_REFERENCE', score: null, referenceId: null });
    });

    it('leaves the gallery as it was: the probe is no entry, and asking again gives the same answer', async () => {
      await identify('paula-1', 'paula', 1);
      const first = await verify(['paula-1'], 'paula', 2);
      expect(await verify(['paula-1'], 'paula', 2)).to.deep.equal(first);
      const { matches } = await identify('paula-3', 'paula', 3);
      expect(matches.map((m) => m.referenceId)).to.deep.equal([ref('paula-1')]);
    });

    it('forgets a removed person, and removing is idempotent', async () => {
      await identify('joao-1', 'joao', 1);
      await abis.remove(ref('joao-1'));
      await abis.remove(ref('joao-1'));
      await abis.remove(ref('never-identified'));
      expect(await identify('joao-2', 'joao', 2)).to.deep.equal({ matches: [] });
    });
  });
}
