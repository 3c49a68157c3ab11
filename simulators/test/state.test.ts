import { expect } from 'chai';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AbisSample } from '../src/abis.js';
import { syntheticTemplate } from '../src/biometrics.js';
import type { RunningSimulators } from '../src/main.js';
import { civilRegistryNumber } from '../src/population.js';
import { asAdmin, authorized, getJson, postJson, startForTest } from './helpers.js';

const capture = (person: string, seed: number): AbisSample[] =>
  (['RIGHT_THUMB', 'LEFT_THUMB'] as const).map((position) => ({ modality: 'FINGER' as const, position, template: syntheticTemplate(person, 'FINGER', position, seed) }));

async function statusUpdate(sims: RunningSimulators, key: string, body: Record<string, unknown>): Promise<{ status: number; replayed: string | null; body: unknown }> {
  const r = await fetch(`${sims.sigaUrl}/v1/status-updates`, { method: 'POST', headers: authorized({ 'content-type': 'application/json', 'idempotency-key': key }), body: JSON.stringify(body) });
  return { status: r.status, replayed: r.headers.get('idempotent-replayed'), body: await r.json() };
}

/** The simulators started with a state directory keep what they were told across a restart. */
describe('simulator state across restarts', () => {
  let stateDir: string;
  let sims: RunningSimulators | undefined;
  beforeEach(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'registo-sim-state-'));
  });
  afterEach(async () => {
    await sims?.close();
    sims = undefined;
  });

  it('the ABIS still finds an earlier enrolment, replays its first answer and forgets the erased', async () => {
    sims = await startForTest({ stateDir });
    expect((await postJson(`${sims.abisUrl}/v1/identifications`, { referenceId: 'reg-a', biometrics: capture('person-a', 1) })).body).to.deep.equal({ referenceId: 'reg-a', matches: [] });
    await postJson(`${sims.abisUrl}/v1/identifications`, { referenceId: 'reg-gone', biometrics: capture('person-gone', 1) });
    expect((await fetch(`${sims.abisUrl}/v1/references/reg-gone`, { method: 'DELETE', headers: authorized() })).status).to.equal(204);
    await sims.close();

    sims = await startForTest({ stateDir });
    const again = (await postJson(`${sims.abisUrl}/v1/identifications`, { referenceId: 'reg-a2', biometrics: capture('person-a', 2) })).body as { matches: Array<{ referenceId: string }> };
    expect(again.matches.map((m) => m.referenceId)).to.deep.equal(['reg-a']);
    expect((await postJson(`${sims.abisUrl}/v1/identifications`, { referenceId: 'reg-a', biometrics: capture('person-a', 1) })).body).to.deep.equal({ referenceId: 'reg-a', matches: [] });
    expect((await postJson(`${sims.abisUrl}/v1/identifications`, { referenceId: 'reg-a', biometrics: capture('person-a', 9) })).status).to.equal(409);
    expect((await getJson(`${sims.abisUrl}/v1/references/reg-gone`)).status).to.equal(404);
    expect((await postJson(`${sims.abisUrl}/v1/identifications`, { referenceId: 'reg-gone2', biometrics: capture('person-gone', 2) })).body).to.deep.include({ matches: [] });
    expect((await getJson(`${sims.abisUrl}/_admin/stats`, asAdmin())).body).to.include({ gallerySize: 3 });
  });

  it('SIGA keeps its records, idempotency answers, change feed and seeded records', async () => {
    const crn = civilRegistryNumber(3);
    const update = { uin: '1234567890', civilRegistryNumber: crn, status: 'ENROLLED', givenNames: 'Ana', surname: 'Costa' };
    sims = await startForTest({ stateDir });
    const first = await statusUpdate(sims, 'key-1', update);
    expect(first.status).to.equal(200);
    await postJson(`${sims.sigaUrl}/_admin/changes`, { type: 'NAME_CORRECTED', uin: '1234567890', details: { surname: 'Costa Neto' } }, asAdmin());
    await fetch(`${sims.sigaUrl}/_admin/records/9999999999`, { method: 'PUT', headers: asAdmin({ 'content-type': 'application/json' }), body: JSON.stringify({ identityStatus: 'ACTIVE' }) });
    await sims.close();

    sims = await startForTest({ stateDir });
    const exported = (await getJson(`${sims.sigaUrl}/v1/exports/identities`)).body as { records: Array<Record<string, unknown>> };
    expect(exported.records.find((r) => r.uin === '1234567890')).to.include({ civilRegistryNumber: crn, identityStatus: 'ACTIVE', lastUpdate: 'ENROLLED', surname: 'Costa Neto' });
    expect(exported.records.find((r) => r.uin === '9999999999')).to.include({ identityStatus: 'ACTIVE' });
    const replay = await statusUpdate(sims, 'key-1', update);
    expect(replay).to.deep.equal({ status: 200, replayed: 'true', body: first.body });
    expect((await statusUpdate(sims, 'key-1', { ...update, status: 'ISSUED' })).status).to.equal(409);
    const feed = (await getJson(`${sims.sigaUrl}/v1/changes?after=0`)).body as { changes: Array<{ seq: number; type: string }> };
    expect(feed.changes.map((c) => [c.seq, c.type])).to.deep.equal([[1, 'NAME_CORRECTED']]);
    // The next change follows the restored feed, not a new one.
    expect(((await postJson(`${sims.sigaUrl}/_admin/changes`, { type: 'DECEASED', uin: '1234567890', details: {} }, asAdmin())).body as { seq: number }).seq).to.equal(2);
  });

  it('a garbled state file stops start-up with SIMULATOR_STATE_UNREADABLE; without a state directory nothing is kept', async () => {
    sims = await startForTest({ stateDir });
    await postJson(`${sims.abisUrl}/v1/identifications`, { referenceId: 'reg-x', biometrics: capture('person-x', 1) });
    await sims.close();
    sims = undefined;
    const file = join(stateDir, 'abis.jsonl');
    await writeFile(file, `${(await readFile(file, 'utf8')).replace('"op":"enrol"', '"op":"enrol","biometrics":7,"x"')}`);
    const refused = await startForTest({ stateDir }).then(
      (s) => s.close().then(() => undefined),
      (e: unknown) => e,
    );
    expect(refused).to.include({ code: 'SIMULATOR_STATE_UNREADABLE' });
    expect((refused as { details: unknown }).details).to.deep.equal({ file, line: 1 });

    sims = await startForTest();
    await postJson(`${sims.abisUrl}/v1/identifications`, { referenceId: 'reg-y', biometrics: capture('person-y', 1) });
    await sims.close();
    sims = await startForTest();
    expect((await getJson(`${sims.abisUrl}/v1/references/reg-y`)).status).to.equal(404);
  });
});
