import { expect } from 'chai';
import type { ForeignerDemographics, ImmigrationRegistry, ResidencePermit } from '@registo/external';

/** What each immigration adapter's test provides to run the one contract suite. */
export interface ImmigrationHarness {
  name: string;
  open(): Promise<ImmigrationRegistry>;
  /** Permits the registry holds, exactly as it should return them; at least one VALID and one not. */
  permits: ResidencePermit[];
  /** A well-formed permit number the registry does not hold. */
  unknownNumber: string;
  cleanup(): Promise<void>;
}

function demographicsOf(permit: ResidencePermit): ForeignerDemographics {
  const { givenNames, surname, dateOfBirth, sex, nationality } = permit;
  return { givenNames, surname, dateOfBirth, sex, nationality };
}

export function immigrationContract(harness: ImmigrationHarness): void {
  describe(`ImmigrationRegistry contract: ${harness.name}`, () => {
    let registry: ImmigrationRegistry;
    before(async () => {
      registry = await harness.open();
    });
    after(() => harness.cleanup());

    it('returns known permits', async () => {
      for (const permit of harness.permits) expect(await registry.permit(permit.permitNumber)).to.deep.equal(permit);
    });

    it('returns null for an unknown permit', async () => {
      expect(await registry.permit(harness.unknownNumber)).to.equal(null);
    });

    it('matches agreeing demographics and reports each permit status', async () => {
      for (const permit of harness.permits) {
        const result = await registry.verify({ permitNumber: permit.permitNumber, demographics: demographicsOf(permit) });
        expect(result).to.deep.equal({ outcome: 'MATCH', discrepancies: [], permitStatus: permit.status });
      }
    });

    it('names exactly the fields that disagree', async () => {
      const permit = harness.permits[0]!;
      const result = await registry.verify({
        permitNumber: permit.permitNumber,
        demographics: { ...demographicsOf(permit), dateOfBirth: '1901-01-01', surname: 'Ninguém' },
      });
      expect(result.outcome).to.equal('MISMATCH');
      expect([...result.discrepancies].sort()).to.deep.equal(['dateOfBirth', 'surname']);
      expect(result.permitStatus).to.equal(permit.status);
    });

    it('reports NOT_FOUND, with no status, for an unknown permit', async () => {
      const result = await registry.verify({ permitNumber: harness.unknownNumber, demographics: { sex: 'F' } });
      expect(result).to.deep.equal({ outcome: 'NOT_FOUND', discrepancies: [], permitStatus: null });
    });
  });
}
