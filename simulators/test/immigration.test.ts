import { expect } from 'chai';
import type { RunningSimulators } from '../src/main.js';
import { createPopulation, permitNumber, type Foreigner } from '../src/population.js';
import { getJson, postJson, startForTest } from './helpers.js';

describe('immigration simulator', () => {
  let sims: RunningSimulators;
  const population = createPopulation({ citizens: 500, foreigners: 100 });
  let holder: Foreigner;

  before(async () => {
    sims = await startForTest();
    holder = population.foreigner(0);
  });
  after(() => sims.close());

  it('answers /health without a token', async () => {
    expect(await getJson(`${sims.immigrationUrl}/health`, {})).to.deep.equal({ status: 200, body: { status: 'UP', system: 'IMMIGRATION' } });
  });

  it('returns a permit by number, and 404 for an unknown one', async () => {
    expect(await getJson(`${sims.immigrationUrl}/v1/permits/${holder.permitNumber}`)).to.deep.equal({ status: 200, body: holder });
    expect((await getJson(`${sims.immigrationUrl}/v1/permits/${permitNumber(100)}`)).status).to.equal(404);
  });

  it('refuses requests without the service token', async () => {
    expect((await getJson(`${sims.immigrationUrl}/v1/permits/${holder.permitNumber}`, {})).status).to.equal(401);
  });

  it('verifies demographics and reports the permit status', async () => {
    const { givenNames, surname, dateOfBirth, sex, nationality } = holder;
    const match = await postJson(`${sims.immigrationUrl}/v1/verifications`, {
      permitNumber: holder.permitNumber,
      demographics: { givenNames, surname, dateOfBirth, sex, nationality },
    });
    expect(match).to.deep.equal({ status: 200, body: { match: true, discrepancies: [], permitStatus: holder.status } });
    const mismatch = await postJson(`${sims.immigrationUrl}/v1/verifications`, {
      permitNumber: holder.permitNumber,
      demographics: { surname, nationality: nationality === 'STP' ? 'PRT' : 'STP' },
    });
    expect(mismatch.body).to.deep.equal({ match: false, discrepancies: ['nationality'], permitStatus: holder.status });
  });

  it('answers 404 for an unknown permit and 400 for a malformed request', async () => {
    expect((await postJson(`${sims.immigrationUrl}/v1/verifications`, { permitNumber: 'AR-999999-1', demographics: { sex: 'M' } })).status).to.equal(404);
    expect((await postJson(`${sims.immigrationUrl}/v1/verifications`, { permitNumber: holder.permitNumber })).status).to.equal(400);
  });
});
