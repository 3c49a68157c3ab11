import { expect } from 'chai';
import { ErrorCodes, isRegistoError } from '@registo/schemas';
import { openPacket } from '../src/index.js';
import * as fixtures from './fixtures.js';

// Built before the suite is declared so that every hostile packet is a test of its own.
const env = await fixtures.createPacketTestEnv();
const fullCorpus = await fixtures.buildHostileCorpus(env);
// The register's packet rules live in producers and are handed to the codec by intake; the
// gateway's hostile suite (test/e2e/hostile-http.test.ts) runs those cases with them.
const corpus = fullCorpus.filter((c) => !c.byPacketRules);

describe('enrollment packets: the hostile corpus', () => {
  it('has at least 45 distinctly named cases covering every code the codec can decide', () => {
    expect(fullCorpus.length).to.be.at.least(45);
    expect(fullCorpus.filter((c) => c.byPacketRules)).to.have.length(4);
    expect(new Set(fullCorpus.map((c) => c.name)).size).to.equal(fullCorpus.length);
    // Reuse of an id and a device filing for another centre are the enrollment decider's to decide.
    const decidedByTheDecider = ['PACKET_ID_REUSED', 'PACKET_CENTRE_MISMATCH'];
    const decidable = Object.keys(ErrorCodes).filter((c) => c.startsWith('PACKET_') && !decidedByTheDecider.includes(c));
    expect([...new Set(fullCorpus.map((c) => c.expectedCode))].sort()).to.deep.equal(decidable.sort());
  });

  for (const c of corpus) {
    const expected = `${c.expectedCode}${c.authenticated ? ', authentic' : ''}${c.regId ? `, regId ${c.regId}` : ''}`;
    it(`${c.name} → ${expected}`, async () => {
      let error: unknown;
      try {
        await openPacket(c.body, env.trust);
      } catch (e) {
        error = e;
      }
      expect(isRegistoError(error), `opened, or threw something else: ${String(error)}`).to.equal(true);
      if (!isRegistoError(error)) return;
      expect(error.code, error.message).to.equal(c.expectedCode);
      expect(error.details.authenticated).to.equal(c.authenticated);
      expect(error.details.regId).to.equal(c.regId);
      expect(error.details.packetHash).to.equal(c.packetHash);
    });
  }

  // The codec decides none of the register's rules itself: handed no rules, these open.
  for (const c of fullCorpus.filter((x) => x.byPacketRules)) {
    it(`${c.name} → opens when the codec is handed no packet rules (the register's rules are producers')`, async () => {
      const opened = await openPacket(c.body, env.trust);
      expect(opened.packet.regId).to.equal(c.regId);
    });
  }

  it('a replayed regId with other content still opens: only the store can refuse it', async () => {
    const original = fixtures.validPacket({}, env.now);
    const replay = fixtures.replayedWithOtherContent(original);
    const [a, b] = await Promise.all([openPacket(await env.seal(original), env.trust), openPacket(await env.seal(replay), env.trust)]);
    expect(b.packet.regId).to.equal(a.packet.regId);
    expect(b.packetHash).to.not.equal(a.packetHash);
  });
});
