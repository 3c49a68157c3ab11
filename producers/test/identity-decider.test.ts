import { expect } from 'chai';
import { IDENTITY_STATUSES, validateEventData } from '@registo/schemas';
import { CommandRejected, type IdentityCommand, type IdentityState, decideIdentity, evolveIdentity, initialIdentityState } from '../src/index.js';

const uin = '2345678901';
const sealed = { subjectId: 's-1', keyVersion: 1, alg: 'A256GCM', iv: 'aXY', ciphertext: 'Y3Q' };
const create: IdentityCommand = { type: 'CreateIdentity', uin, regId: 'R-1', residency: 'CITIZEN', sealed };

function run(commands: IdentityCommand[]): IdentityState {
  let s = initialIdentityState();
  for (const c of commands) for (const e of decideIdentity(c, s)) s = evolveIdentity(s, e);
  return s;
}

describe('identity decider', () => {
  it('creates once; the same enrollment again is a no-op, another one is refused', () => {
    const s = run([create]);
    expect(s).to.include({ exists: true, status: 'ACTIVE', uin });
    expect(decideIdentity(create, s)).to.deep.equal([]);
    expect(() => decideIdentity({ ...create, regId: 'R-2' }, s)).to.throw(CommandRejected, /already exists/);
  });

  it('refuses every command but create on a missing identity', () => {
    const s = initialIdentityState();
    for (const c of [
      { type: 'UpdateIdentity', uin, regId: 'R-2', changedFields: ['address'], sealed },
      { type: 'ChangeIdentityStatus', uin, to: 'BLOCKED', reason: 'x', source: 'OPERATOR' },
      { type: 'DestroySubjectKey', uin, subjectId: 's-1', legalBasis: 'court order', orderRef: null },
    ] as IdentityCommand[]) {
      expect(() => decideIdentity(c, s), c.type).to.throw(CommandRejected, /no identity/);
    }
  });

  for (const from of IDENTITY_STATUSES) {
    for (const to of IDENTITY_STATUSES) {
      it(`status ${from} → ${to}`, () => {
        const s = run([create, ...(from === 'ACTIVE' ? [] : [{ type: 'ChangeIdentityStatus', uin, to: from, reason: 'setup', source: 'OPERATOR' } as IdentityCommand])]);
        expect(s.status).to.equal(from);
        const c: IdentityCommand = { type: 'ChangeIdentityStatus', uin, to, reason: 'because', source: 'SIGA' };
        if (from === to) expect(decideIdentity(c, s)).to.deep.equal([]);
        else if (from === 'DECEASED') expect(() => decideIdentity(c, s)).to.throw(/DECEASED/);
        else {
          const [e] = decideIdentity(c, s);
          expect(e!.data).to.deep.equal({ uin, from, to, reason: 'because', source: 'SIGA' });
          validateEventData(e!.type, undefined, e!.data);
        }
      });
    }
  }

  it('updates only an active identity, once per enrollment', () => {
    const update: IdentityCommand = { type: 'UpdateIdentity', uin, regId: 'R-2', changedFields: ['address'], sealed };
    const s = run([create, update]);
    expect(s.regIds).to.deep.equal(['R-1', 'R-2']);
    expect(decideIdentity(update, s)).to.deep.equal([]);
    const blocked = run([create, { type: 'ChangeIdentityStatus', uin, to: 'BLOCKED', reason: 'x', source: 'OPERATOR' }]);
    expect(() => decideIdentity(update, blocked)).to.throw(/BLOCKED/);
  });

  describe('an update keeps the civil-registry number unless an officer agreed (given/when/then)', () => {
    const indexed: IdentityCommand = { ...create, civilRegistryIndex: 'crn-a' } as IdentityCommand;
    const update = (over: Record<string, unknown>): IdentityCommand => ({ type: 'UpdateIdentity', uin, regId: 'R-2', changedFields: ['address'], sealed, ...over }) as IdentityCommand;

    it('given an identity with its index, when an update keeps the number, then IdentityUpdated carries the same index', () => {
      const [e] = decideIdentity(update({ civilRegistryIndex: 'crn-a' }), run([indexed]));
      expect(e).to.deep.equal({ type: 'IdentityUpdated', data: { uin, regId: 'R-2', changedFields: ['address'], sealed, civilRegistryIndex: 'crn-a', permitIndex: null } });
      validateEventData(e!.type, undefined, e!.data);
    });

    it('given an identity with its index, when an update names no index (a name corrected by the registry), then the index stays', () => {
      const [e] = decideIdentity(update({}), run([indexed]));
      expect(e!.data).to.include({ civilRegistryIndex: 'crn-a' });
    });

    it('given an identity with its index, when an update would change it without approval, then ANCHOR_MISMATCH and nothing is written', () => {
      const s = run([indexed]);
      expect(() => decideIdentity(update({ civilRegistryIndex: 'crn-b' }), s)).to.throw(CommandRejected).with.property('reason', 'ANCHOR_MISMATCH');
      expect(() => decideIdentity(update({ civilRegistryIndex: null }), s)).to.throw(CommandRejected).with.property('reason', 'ANCHOR_MISMATCH');
    });

    it("given an identity with its index, when an officer approved the change, then the new index holds from then on", () => {
      let s = run([indexed]);
      const [e] = decideIdentity(update({ civilRegistryIndex: 'crn-b', anchorChangeApproved: true }), s);
      expect(e!.data).to.deep.equal({ uin, regId: 'R-2', changedFields: ['address'], sealed, civilRegistryIndex: 'crn-b', permitIndex: null });
      s = evolveIdentity(s, e!);
      expect(s.civilRegistryIndex).to.equal('crn-b');
      // The next plain update must keep the corrected number, not the old one.
      expect(() => decideIdentity(update({ regId: 'R-3', civilRegistryIndex: 'crn-a' }), s)).to.throw(CommandRejected).with.property('reason', 'ANCHOR_MISMATCH');
    });

    it("given a foreigner with a permit index, when an update keeps the permit, then both indexes are carried; another permit without approval is ANCHOR_MISMATCH", () => {
      const foreigner = run([{ ...create, residency: 'FOREIGNER', civilRegistryIndex: null, permitIndex: 'permit-a' } as IdentityCommand]);
      expect(foreigner).to.include({ civilRegistryIndex: null, permitIndex: 'permit-a' });
      expect(decideIdentity(update({ permitIndex: 'permit-a', civilRegistryIndex: null }), foreigner)[0]!.data).to.include({ civilRegistryIndex: null, permitIndex: 'permit-a' });
      expect(() => decideIdentity(update({ permitIndex: 'permit-b', civilRegistryIndex: null }), foreigner)).to.throw(CommandRejected).with.property('reason', 'ANCHOR_MISMATCH');
      const renewed = decideIdentity(update({ permitIndex: 'permit-b', civilRegistryIndex: null, anchorChangeApproved: true }), foreigner);
      expect(evolveIdentity(foreigner, renewed[0]!).permitIndex).to.equal('permit-b');
    });

    it('given an identity created before indexes were recorded, when updated, then there is nothing to compare and the update names what it has', () => {
      const legacy = run([{ ...create, residency: 'FOREIGNER', civilRegistryIndex: null } as IdentityCommand]);
      expect(decideIdentity(update({ civilRegistryIndex: null, permitIndex: 'permit-a' }), legacy)[0]!.data).to.include({ civilRegistryIndex: null, permitIndex: 'permit-a' });
    });
  });

  it('destroys the subject key once and then refuses new personal data', () => {
    const destroy: IdentityCommand = { type: 'DestroySubjectKey', uin, subjectId: 's-1', legalBasis: 'retention after death', orderRef: 'ORD-1' };
    const s = run([create, destroy]);
    expect(s.erased).to.equal(true);
    expect(decideIdentity(destroy, s)).to.deep.equal([]);
    expect(() => decideIdentity({ type: 'UpdateIdentity', uin, regId: 'R-3', changedFields: ['name'], sealed }, s)).to.throw(/erased/);
  });
});
