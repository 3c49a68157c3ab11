import { expect } from 'chai';
import type { FastifyInstance } from 'fastify';
import { createLogger } from '@registo/base';
import type { EventStore, PostgresDriver } from '@registo/event-store';
import { ApiTokens, createHttpApp, registerIntakeRoutes } from '@registo/gateways';
import { ErrorCodes, type ErrorCode } from '@registo/schemas';
import {
  type PacketTestEnv,
  buildHostileCorpus,
  createPacketTestEnv,
  createTestDatabase,
  openSealedStore,
  replayedWithOtherContent,
  validPacket,
  type TestDatabase,
} from '../src/index.js';

interface Answer {
  status: number;
  contentType: string;
  body: Record<string, unknown>;
}

describe('intake gateway on PostgreSQL: hostile packets, re-uploads, parallel submissions', function () {
  this.timeout(300_000);
  let db: TestDatabase;
  let driver: PostgresDriver;
  let store: EventStore;
  let app: FastifyInstance;
  const tokens = ApiTokens.parse('tok:client-1:registration_client');
  let url: string;
  let env: PacketTestEnv;

  const post = async (body: string | Buffer): Promise<Answer> => {
    const res = await fetch(`${url}/v1/packets`, { method: 'POST', headers: { 'content-type': 'application/jose' }, body });
    return { status: res.status, contentType: res.headers.get('content-type') ?? '', body: (await res.json()) as Record<string, unknown> };
  };

  before(async () => {
    env = await createPacketTestEnv();
    db = await createTestDatabase();
    const opened = await openSealedStore(db.url);
    ({ driver, store } = opened);
    const sealer = opened.sealer;
    app = createHttpApp(createLogger('silent'));
    registerIntakeRoutes(app, { store, sealer, trust: env.trust, tokens });
    url = await app.listen({ port: 0, host: '127.0.0.1' });
  });
  after(async () => {
    await app?.close();
    await store?.close();
    await db?.drop();
  });

  it('refuses every hostile packet with its stable code; only authentic packets naming their id leave a PacketRejected', async () => {
    const corpus = await buildHostileCorpus(env);
    expect(corpus.length).to.be.at.least(40);
    const before = await store.headPosition();
    for (const c of corpus) {
      const a = await post(c.body);
      expect(a.status, c.name).to.equal(ErrorCodes[c.expectedCode as ErrorCode]);
      expect(a.status, c.name).to.be.below(500);
      expect(a.contentType, c.name).to.match(/^application\/problem\+json/);
      expect(a.body.code, c.name).to.equal(c.expectedCode);
    }
    const written = (await store.readAll({ fromPosition: before + 1 })).filter((e) => e.position > before);
    const known = corpus.filter((c) => c.regId !== undefined);
    expect(written.map((e) => e.type)).to.deep.equal(known.map(() => 'PacketRejected'));
    for (const c of known) {
      const stream = await store.readStream(`enrollment-${c.regId}`);
      expect(stream, c.name).to.have.length(1);
      expect(c.packetHash, `${c.name}: an authentic case knows its packet hash`).to.be.a('string');
      expect(stream[0]!.data, c.name).to.include({ code: c.expectedCode, packetHash: c.packetHash });
    }
    // The same hostile packets again: the same answers, nothing more written.
    const head = await store.headPosition();
    for (const c of corpus) expect((await post(c.body)).body.code, c.name).to.equal(c.expectedCode);
    expect(await store.headPosition()).to.equal(head);
  });

  it('a re-upload gets the same answer; another packet under a used registration id is refused and changes nothing', async () => {
    const packet = validPacket();
    const body = await env.seal(packet);
    const first = await post(body);
    expect(first.status).to.equal(202);
    expect(first.body).to.include({ regId: packet.regId, status: 'ACCEPTED' });
    // Store-and-forward clients re-upload, possibly re-encrypted: the content decides.
    const again = await post(await env.seal(packet));
    expect(again).to.deep.equal(first);
    const stream = await store.readStream(`enrollment-${packet.regId}`);
    expect(stream.map((e) => e.type)).to.deep.equal(['EnrollmentSubmitted', 'PacketValidated']);
    const other = await post(await env.seal(replayedWithOtherContent(packet)));
    expect(other.status).to.equal(409);
    expect(other.body.code).to.equal('PACKET_ID_REUSED');
    expect(await store.readStream(`enrollment-${packet.regId}`)).to.have.length(2);
  });

  describe('a device speaks only for its own centre', () => {
    const subjectKeys = async (): Promise<number> => (await driver.query<{ n: number }>('SELECT count(*)::int AS n FROM registo_subject_keys'))[0]!.n;
    const refusedUnwritten = async (body: string): Promise<Answer> => {
      const [head, keys] = [await store.headPosition(), await subjectKeys()];
      const a = await post(body);
      expect(await store.headPosition(), 'nothing in the log').to.equal(head);
      expect(await subjectKeys(), 'no data key made').to.equal(keys);
      return a;
    };
    const ofOtherCentre = (overrides: Parameters<typeof validPacket>[0] = {}) => validPacket({ deviceId: env.otherCentreDevice.deviceId, centreId: '20077', ...overrides });

    it("another centre's device cannot file under this centre's ids, good packet or bad; the real packet is then accepted", async () => {
      const real = validPacket();
      const squat = await refusedUnwritten(await env.seal(ofOtherCentre({ regId: real.regId }), env.otherCentreDevice));
      expect(squat.status).to.equal(403);
      expect(squat.contentType).to.match(/^application\/problem\+json/);
      expect(squat.body).to.include({ code: 'PACKET_CENTRE_MISMATCH', regId: real.regId });
      // A deliberately bad packet (a refusal would have taken the id) is refused for its centre first.
      const bad = ofOtherCentre({ regId: real.regId, biometrics: [{ modality: 'FACE', position: 'FACE', format: 'SYNTHETIC', template: 'AAAA', quality: 3 }] });
      expect((await refusedUnwritten(await env.seal(bad, env.otherCentreDevice))).body.code).to.equal('PACKET_CENTRE_MISMATCH');
      const schemaBroken = { ...ofOtherCentre({ regId: real.regId }), demographics: 'none' };
      expect((await refusedUnwritten(await env.seal(schemaBroken, env.otherCentreDevice))).body.code).to.equal('PACKET_CENTRE_MISMATCH');
      // Each was logged and counted as a refusal, like a bad token.
      expect(tokens.refusals.snapshot().byReason['PACKET_CENTRE_MISMATCH:DEVICE_OTHER_CENTRE']).to.be.at.least(3);
      expect((await post(await env.seal(real))).status).to.equal(202);
    });

    it("a device's packet naming another centre, or filed under another centre's id, is refused", async () => {
      const packets = [
        validPacket({ centreId: 'STP-PAGUE-07', regId: '99999-00001-' + validPacket().regId.slice(-14) }),
        validPacket({ centreId: 'STP-PAGUE-07' }),
        validPacket({ centreId: '20077' }),
        validPacket({ regId: '20077-00001-' + validPacket().regId.slice(-14) }),
      ];
      for (const p of packets) {
        const a = await refusedUnwritten(await env.seal(p));
        expect(a.status, `${p.centreId} ${p.regId}`).to.equal(403);
        expect(a.body.code, `${p.centreId} ${p.regId}`).to.equal('PACKET_CENTRE_MISMATCH');
      }
    });
  });

  it('the same packet submitted 20 times in parallel makes one enrollment', async () => {
    const packet = validPacket();
    const body = await env.seal(packet);
    const answers = await Promise.all(Array.from({ length: 20 }, () => post(body)));
    for (const a of answers) expect(a).to.deep.equal(answers[0]);
    expect(answers[0]!.status).to.equal(202);
    const stream = await store.readStream(`enrollment-${packet.regId}`);
    expect(stream.map((e) => e.type)).to.deep.equal(['EnrollmentSubmitted', 'PacketValidated']);
    const all = await store.readAll();
    expect(all.filter((e) => e.type === 'EnrollmentSubmitted' && e.data.regId === packet.regId)).to.have.length(1);
  });

  it('packet status and timeline need a token and name the steps', async () => {
    const packet = validPacket();
    await post(await env.seal(packet));
    const anonymous = await fetch(`${url}/v1/packets/${packet.regId}`);
    expect(anonymous.status).to.equal(401);
    const res = await fetch(`${url}/v1/packets/${packet.regId}`, { headers: { authorization: 'Bearer tok' } });
    const status = (await res.json()) as { status: string; timeline: Array<{ type: string }> };
    expect(status.status).to.equal('VALIDATED');
    expect(status.timeline.map((t) => t.type)).to.deep.equal(['EnrollmentSubmitted', 'PacketValidated']);
    expect((await fetch(`${url}/v1/packets/10031-00001-20990101000000`, { headers: { authorization: 'Bearer tok' } })).status).to.equal(404);
    expect((await fetch(`${url}/v1/packets/not-an-id`, { headers: { authorization: 'Bearer tok' } })).status).to.equal(400);
  });
});
