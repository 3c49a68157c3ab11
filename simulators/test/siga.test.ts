import { expect } from 'chai';
import type { RunningSimulators } from '../src/main.js';
import { createPopulation, civilRegistryNumber, type Citizen } from '../src/population.js';
import { authorized, getJson, postJson, startForTest } from './helpers.js';

describe('SIGA simulator', () => {
  let sims: RunningSimulators;
  const population = createPopulation({ citizens: 500, foreigners: 100 });
  let alive: Citizen;
  let deceased: Citizen;

  before(async () => {
    sims = await startForTest();
    const people = Array.from({ length: 500 }, (_, i) => population.citizen(i));
    alive = people.find((c) => c.civilStatus === 'ALIVE')!;
    deceased = people.find((c) => c.civilStatus === 'DECEASED')!;
  });
  after(() => sims.close());

  it('answers /health without a token', async () => {
    const reply = await getJson(`${sims.sigaUrl}/health`, {});
    expect(reply).to.deep.equal({ status: 200, body: { status: 'UP', system: 'SIGA' } });
  });

  it('returns a person by civil-registry number, and 404 for an unknown one', async () => {
    expect(await getJson(`${sims.sigaUrl}/v1/persons/${alive.civilRegistryNumber}`)).to.deep.equal({ status: 200, body: alive });
    expect((await getJson(`${sims.sigaUrl}/v1/persons/${civilRegistryNumber(500)}`)).status).to.equal(404);
  });

  it('refuses requests without the service token, or with another one', async () => {
    const url = `${sims.sigaUrl}/v1/persons/${alive.civilRegistryNumber}`;
    expect((await getJson(url, {})).status).to.equal(401);
    expect((await getJson(url, { authorization: 'Bearer wrong' })).status).to.equal(401);
    expect((await getJson(url, { authorization: 'Basic abc' })).status).to.equal(401);
    const verify = await postJson(`${sims.sigaUrl}/v1/verifications`, { civilRegistryNumber: 'x', demographics: { sex: 'M' } }, {});
    expect(verify.status).to.equal(401);
  });

  it('verifies matching demographics, ignoring case, accents and extra spaces', async () => {
    const reply = await postJson(`${sims.sigaUrl}/v1/verifications`, {
      civilRegistryNumber: alive.civilRegistryNumber,
      demographics: {
        givenNames: alive.givenNames.toUpperCase(),
        surname: ` ${alive.surname.normalize('NFD').replace(/\p{M}/gu, '')} `,
        dateOfBirth: alive.dateOfBirth,
        sex: alive.sex,
        placeOfBirth: alive.placeOfBirth.district,
        motherName: `${alive.mother.givenNames} ${alive.mother.surname}`,
        fatherName: `${alive.father.givenNames}  ${alive.father.surname}`,
      },
    });
    expect(reply).to.deep.equal({ status: 200, body: { match: true, discrepancies: [] } });
  });

  it('names the fields that disagree and echoes nothing of the record', async () => {
    const reply = await postJson(`${sims.sigaUrl}/v1/verifications`, {
      civilRegistryNumber: alive.civilRegistryNumber,
      demographics: { givenNames: 'Nobody', dateOfBirth: '1900-01-01', sex: alive.sex },
    });
    expect(reply).to.deep.equal({ status: 200, body: { match: false, discrepancies: ['givenNames', 'dateOfBirth'] } });
    expect(JSON.stringify(reply.body)).not.to.include(alive.givenNames);
  });

  it('never verifies a deceased person', async () => {
    const reply = await postJson(`${sims.sigaUrl}/v1/verifications`, {
      civilRegistryNumber: deceased.civilRegistryNumber,
      demographics: { givenNames: deceased.givenNames, dateOfBirth: deceased.dateOfBirth },
    });
    expect(reply.body).to.deep.equal({ match: false, discrepancies: ['civilStatus'] });
  });

  it('answers 404 for an unknown number and 400 for a malformed request', async () => {
    const unknown = await postJson(`${sims.sigaUrl}/v1/verifications`, { civilRegistryNumber: 'RC-9999999-0', demographics: { sex: 'F' } });
    expect(unknown.status).to.equal(404);
    for (const body of [{}, { civilRegistryNumber: alive.civilRegistryNumber, demographics: {} }, { civilRegistryNumber: alive.civilRegistryNumber, demographics: { shoeSize: '42' } }]) {
      expect((await postJson(`${sims.sigaUrl}/v1/verifications`, body, authorized())).status).to.equal(400);
    }
  });
});
