import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createAbisServer, type AbisSample } from '../src/abis.js';
import { syntheticTemplate, type BiometricModality } from '../src/biometrics.js';
import { DEFAULT_ABIS_PORT, simulatorOptionsFrom, type RunningSimulators } from '../src/main.js';
import { asAdmin, authorized, getJson, postJson, setFaults, startForTest } from './helpers.js';

const POSITIONS: readonly (readonly [BiometricModality, string])[] = [
  ['FINGER', 'RIGHT_THUMB'],
  ['FINGER', 'RIGHT_INDEX'],
  ['FACE', 'FRONTAL'],
];

function capture(person: string, seed: number, positions = POSITIONS): AbisSample[] {
  return positions.map(([modality, position]) => ({ modality, position, template: syntheticTemplate(person, modality, position, seed) }));
}

interface Answer {
  referenceId: string;
  matches: { referenceId: string; score: number }[];
}

describe('ABIS simulator', () => {
  let sims: RunningSimulators;
  let identify: (referenceId: string, biometrics: AbisSample[], headers?: Record<string, string>) => Promise<{ status: number; body: unknown }>;
  // Each test names its own references, so tests do not see each other's people as duplicates.
  let run = 0;
  const ref = (name: string): string => `${name}-${run}`;

  before(async () => {
    sims = await startForTest();
    identify = (referenceId, biometrics, headers = authorized()) =>
      postJson(`${sims.abisUrl}/v1/identifications`, { referenceId, biometrics }, headers);
  });
  beforeEach(() => run++);
  afterEach(() => sims.abisFaults.reset());
  after(() => sims.close());

  it('answers /health without a token and refuses /v1 without the right one', async () => {
    expect(await getJson(`${sims.abisUrl}/health`, {})).to.deep.equal({ status: 200, body: { status: 'UP', system: 'ABIS' } });
    expect((await identify(ref('a'), capture('a', 1), {})).status).to.equal(401);
    expect((await identify(ref('a'), capture('a', 1), { authorization: 'Bearer wrong' })).status).to.equal(401);
    expect((await getJson(`${sims.abisUrl}/v1/references/${ref('a')}`, {})).status).to.equal(401);
    const erase = await fetch(`${sims.abisUrl}/v1/references/${ref('a')}`, { method: 'DELETE' });
    expect(erase.status).to.equal(401);
  });

  it('finds an earlier capture of the same person and nobody else, and inserts the newcomer', async () => {
    expect(await identify(ref('first'), capture(ref('person'), 1))).to.deep.equal({ status: 200, body: { referenceId: ref('first'), matches: [] } });
    expect((await identify(ref('stranger'), capture(ref('stranger'), 1))).body).to.deep.equal({ referenceId: ref('stranger'), matches: [] });
    const again = await identify(ref('second'), capture(ref('person'), 2));
    const answer = again.body as Answer;
    expect(answer.matches.map((m) => m.referenceId)).to.deep.equal([ref('first')]);
    expect(answer.matches[0]!.score).to.be.at.least(0.95).and.at.most(1);
    // The second capture is in the gallery now: a third finds both, highest score first.
    const third = (await identify(ref('third'), capture(ref('person'), 3))).body as Answer;
    expect(third.matches.map((m) => m.referenceId).sort()).to.deep.equal([ref('first'), ref('second')].sort());
    expect(third.matches[0]!.score).to.be.at.least(third.matches[1]!.score);
  });

  it('matches on any shared position, with the best of them as the score', async () => {
    await identify(ref('fingers'), capture(ref('p'), 1, [POSITIONS[0]!, POSITIONS[1]!]));
    const faceAndThumb = (await identify(ref('face'), capture(ref('p'), 2, [POSITIONS[0]!, POSITIONS[2]!]))).body as Answer;
    expect(faceAndThumb.matches.map((m) => m.referenceId)).to.deep.equal([ref('fingers')]);
    // Same person, but the fingers-only entry shares no position with a face: only the face entry can match.
    const faceOnly = (await identify(ref('face-only'), capture(ref('p'), 3, [POSITIONS[2]!]))).body as Answer;
    expect(faceOnly.matches.map((m) => m.referenceId)).to.deep.equal([ref('face')]);
  });

  it('repeats the first answer for the same referenceId and templates, and refuses other templates with 409', async () => {
    await identify(ref('one'), capture(ref('x'), 1));
    const first = await identify(ref('two'), capture(ref('x'), 2));
    await identify(ref('three'), capture(ref('x'), 3)); // the gallery changes after the first answer
    const reordered = capture(ref('x'), 2).reverse();
    expect(await identify(ref('two'), reordered)).to.deep.equal(first);
    const conflict = await identify(ref('two'), capture(ref('x'), 4));
    expect(conflict.status).to.equal(409);
    const stats = (await getJson(`${sims.abisUrl}/_admin/stats`, asAdmin())).body as Record<string, number>;
    expect(stats).to.include.keys('gallerySize', 'identifications', 'replays', 'total', 'byRoute');
  });

  it('reports what it holds of a reference, erases it idempotently, and forgets it for later identifications', async () => {
    await identify(ref('held'), capture(ref('h'), 1));
    expect(await getJson(`${sims.abisUrl}/v1/references/${ref('held')}`)).to.deep.equal({
      status: 200,
      body: { referenceId: ref('held'), modalities: ['FINGER', 'FACE'] },
    });
    const before = (await getJson(`${sims.abisUrl}/_admin/stats`, asAdmin())).body as { gallerySize: number; identifications: number };
    for (let i = 0; i < 2; i++) {
      const erase = await fetch(`${sims.abisUrl}/v1/references/${ref('held')}`, { method: 'DELETE', headers: authorized() });
      expect(erase.status).to.equal(204);
    }
    expect((await getJson(`${sims.abisUrl}/v1/references/${ref('held')}`)).status).to.equal(404);
    const after = (await getJson(`${sims.abisUrl}/_admin/stats`, asAdmin())).body as { gallerySize: number; identifications: number };
    expect(after.gallerySize).to.equal(before.gallerySize - 1);
    expect((await identify(ref('later'), capture(ref('h'), 2))).body).to.deep.equal({ referenceId: ref('later'), matches: [] });
    const counted = (await getJson(`${sims.abisUrl}/_admin/stats`, asAdmin())).body as { gallerySize: number; identifications: number };
    expect(counted).to.include({ gallerySize: before.gallerySize, identifications: before.identifications + 1 });
  });

  it('verifies 1:1 against the named references without changing the gallery; 404 when it holds none of them', async () => {
    const verify = (referenceIds: string[], biometrics: AbisSample[]) => postJson(`${sims.abisUrl}/v1/verifications`, { referenceIds, biometrics }, authorized());
    await identify(ref('v'), capture(ref('v-person'), 1));
    await identify(ref('w'), capture(ref('w-person'), 1));
    const before = (await getJson(`${sims.abisUrl}/_admin/stats`, {})).body as { gallerySize: number; verifications: number };
    const same = await verify([ref('w'), ref('v')], capture(ref('v-person'), 2));
    expect(same.status).to.equal(200);
    expect(same.body).to.include({ referenceId: ref('v'), match: true });
    expect((same.body as { score: number }).score).to.be.at.least(0.95);
    const other = (await verify([ref('v')], capture(ref('w-person'), 2))).body as { match: boolean; score: number };
    expect(other).to.include({ referenceId: ref('v'), match: false });
    expect(other.score).to.be.below(0.5);
    expect((await verify([ref('nobody')], capture(ref('v-person'), 3))).status).to.equal(404);
    expect((await postJson(`${sims.abisUrl}/v1/verifications`, { referenceIds: [], biometrics: capture(ref('v-person'), 3) }, authorized())).status).to.equal(400);
    expect((await postJson(`${sims.abisUrl}/v1/verifications`, { referenceIds: [ref('v')], biometrics: capture(ref('v-person'), 3) }, {})).status).to.equal(401);
    const after = (await getJson(`${sims.abisUrl}/_admin/stats`, {})).body as { gallerySize: number; verifications: number };
    expect(after).to.include({ gallerySize: before.gallerySize, verifications: before.verifications + 3 });
  });

  it('answers 400 for malformed requests, unknown fields included', async () => {
    const good = capture(ref('m'), 1)[0]!;
    const url = `${sims.abisUrl}/v1/identifications`;
    for (const body of [
      {},
      { referenceId: ref('m'), biometrics: [] },
      { referenceId: '', biometrics: [good] },
      { referenceId: ref('m'), biometrics: [good], extra: true },
      { referenceId: ref('m'), biometrics: [{ ...good, quality: 80 }] },
      { referenceId: ref('m'), biometrics: [{ ...good, modality: 'DNA' }] },
      { referenceId: ref('m'), biometrics: [{ ...good, template: 'not base64!' }] },
      { referenceId: ref('m'), biometrics: [{ ...good, template: Buffer.alloc(16, 1).toString('base64') }] },
      { referenceId: ref('m'), biometrics: [good, good] },
    ]) {
      expect((await postJson(url, body)).status, JSON.stringify(body)).to.equal(400);
    }
    expect((await getJson(`${sims.abisUrl}/v1/references/${ref('m')}`)).status).to.equal(404);
  });

  it('obeys the fault knobs; a reply lost to a fault is recovered by retrying with the same referenceId', async () => {
    await setFaults(sims.abisUrl, { errorRate: 1 });
    expect((await identify(ref('f'), capture(ref('f'), 1))).status).to.equal(500);
    await setFaults(sims.abisUrl, { errorRate: 0, malformedRate: 1, malformedMode: 'wrong-shape' });
    await identify(ref('g'), capture(ref('g'), 1));
    const garbled = await identify(ref('g2'), capture(ref('g'), 2));
    expect(garbled.body).not.to.have.property('matches');
    await fetch(`${sims.abisUrl}/_admin/faults`, { method: 'DELETE', headers: asAdmin() });
    const retried = (await identify(ref('g2'), capture(ref('g'), 2))).body as Answer;
    expect(retried.matches.map((m) => m.referenceId)).to.deep.equal([ref('g')]);
    await setFaults(sims.abisUrl, { outageUntil: new Date(Date.now() + 30_000).toISOString() });
    expect((await identify(ref('o'), capture(ref('o'), 1))).status).to.equal(503);
  });
});

describe('ABIS threshold', () => {
  it('lists only entries scoring at or above the configured threshold', async () => {
    const app = createAbisServer({ token: 't', threshold: 0.999 });
    try {
      // Over a real socket: the fault layer treats an injected request as a client already gone.
      const url = await app.listen({ port: 0, host: '127.0.0.1' });
      const post = async (referenceId: string, seed: number): Promise<Answer> => {
        const reply = await postJson(`${url}/v1/identifications`, { referenceId, biometrics: capture('same', seed) }, { authorization: 'Bearer t' });
        return reply.body as Answer;
      };
      await post('r1', 1);
      expect((await post('r2', 2)).matches).to.deep.equal([]);
      expect((await post('r3', 1)).matches.map((m) => m.referenceId)).to.deep.equal(['r1']);
    } finally {
      await app.close();
    }
    expect(() => createAbisServer({ threshold: 0 })).to.throw(/threshold/);
    expect(() => createAbisServer({ threshold: 1.5 })).to.throw(/threshold/);
  });
});

describe('ABIS in the simulators command', () => {
  it('takes its port from --abis-port, then REGISTO_ABIS_PORT, else leaves the default to startSimulators', () => {
    expect(simulatorOptionsFrom(['--abis-port', '7003'], { REGISTO_ABIS_PORT: '9003' })).to.include({ abisPort: 7003 });
    expect(simulatorOptionsFrom([], { REGISTO_ABIS_PORT: '9003' })).to.include({ abisPort: 9003 });
    expect(simulatorOptionsFrom([], {})).not.to.have.property('abisPort');
    expect(() => simulatorOptionsFrom(['--abis-port=x'], {})).to.throw(/ABIS port/);
    expect(DEFAULT_ABIS_PORT).to.equal(8093);
  });

  it('starts the ABIS with the others and says where it listens', async () => {
    const binPath = fileURLToPath(new URL('../../bin/simulators.js', import.meta.url));
    const args = [binPath, '--siga-port', '0', '--immigration-port', '0', '--abis-port', '0'];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      const deadline = Date.now() + 15_000;
      while (!/ABIS simulator listening on/.test(output) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const abisUrl = /ABIS simulator listening on (\S+)/.exec(output)?.[1];
      expect(abisUrl, output).to.be.a('string');
      expect(await getJson(`${abisUrl}/health`, {})).to.deep.equal({ status: 200, body: { status: 'UP', system: 'ABIS' } });
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).to.equal(0);
  });
});
