import { expect } from 'chai';
import fc from 'fast-check';
import { validateEventData } from '@registo/schemas';
import {
  CommandRejected,
  type MismatchCommand,
  type MismatchState,
  type ResolutionAction,
  type SyncCommand,
  type SyncState,
  type SyncStatus,
  decideMismatch,
  decideSync,
  evolveMismatch,
  evolveSync,
  initialMismatchState,
  initialSyncState,
  mismatchIdOf,
  mismatchStreamId,
  outboundSyncId,
  inboundSyncId,
  syncStreamId,
} from '../src/index.js';
import { type MismatchKind, parseStreamId } from '@registo/schemas';

const syncId = 'siga.0193a0b0-0000-7000-8000-000000000001';
const system = 'SIGA' as const;
const request: SyncCommand = {
  type: 'RequestSync',
  syncId,
  system,
  direction: 'OUTBOUND',
  operation: 'ENROLLED',
  uin: '2345678901',
  sourceEventId: '0193a0b0-0000-7000-8000-000000000001',
  sourceStreamId: 'identity-2345678901',
  sourceRevision: 0,
  sourceType: 'IdentityCreated',
  fields: ['uin', 'civilRegistryNumber', 'status'],
};
const success: SyncCommand = { type: 'RecordSyncSuccess', syncId, system, durationMs: 12, replayed: false, outcome: 'APPLIED' };
const failure: SyncCommand = { type: 'RecordSyncFailure', syncId, system, code: 'EXTERNAL_UNAVAILABLE', reason: 'SIGA: answered 500', retryable: true };
const deadLetter: SyncCommand = { type: 'DeadLetterSync', syncId, system, code: 'EXTERNAL_UNAVAILABLE', reason: 'SIGA: answered 503' };
const redrive = (redriveId = 'r-1'): SyncCommand => ({ type: 'RedriveSync', syncId, system, redriveId, by: 'operator-1' });

function run(commands: SyncCommand[]): SyncState {
  let s = initialSyncState();
  for (const c of commands) for (const e of decideSync(c, s)) s = evolveSync(s, e);
  return s;
}

/** A state in each status, reached through commands only. */
const inStatus: Record<SyncStatus, SyncCommand[]> = {
  PENDING: [request],
  FAILED: [request, failure],
  SUCCEEDED: [request, failure, success],
  DEAD_LETTERED: [request, failure, deadLetter],
};

describe('sync decider', () => {
  it('requests once; a redelivered source event asks for nothing more', () => {
    const s = run([request]);
    expect(s).to.include({ exists: true, status: 'PENDING', attempts: 0, syncId });
    expect(decideSync(request, s)).to.deep.equal([]);
  });

  it('refuses every command but RequestSync on a sync that does not exist', () => {
    for (const c of [success, failure, deadLetter, redrive()]) {
      expect(() => decideSync(c, initialSyncState()), c.type).to.throw(CommandRejected, /no sync/);
    }
  });

  // Every command in every status: the table the sync consumer and redrive rely on.
  const expected: Record<SyncStatus, Record<string, string | null>> = {
    PENDING: { RecordSyncSuccess: 'SyncSucceeded', RecordSyncFailure: 'SyncFailed', DeadLetterSync: 'SyncDeadLettered', RedriveSync: 'SYNC_NOT_DEAD_LETTERED' },
    FAILED: { RecordSyncSuccess: 'SyncSucceeded', RecordSyncFailure: 'SyncFailed', DeadLetterSync: 'SyncDeadLettered', RedriveSync: 'SYNC_NOT_DEAD_LETTERED' },
    SUCCEEDED: { RecordSyncSuccess: null, RecordSyncFailure: null, DeadLetterSync: null, RedriveSync: 'SYNC_NOT_DEAD_LETTERED' },
    DEAD_LETTERED: { RecordSyncSuccess: 'SyncSucceeded', RecordSyncFailure: 'SyncFailed', DeadLetterSync: null, RedriveSync: 'SyncRedriven' },
  };
  for (const [status, byCommand] of Object.entries(expected) as Array<[SyncStatus, Record<string, string | null>]>) {
    for (const c of [success, failure, deadLetter, redrive()]) {
      const outcome = byCommand[c.type];
      it(`${c.type} on a ${status} sync → ${outcome ?? 'nothing'}`, () => {
        const s = run(inStatus[status]);
        expect(s.status).to.equal(status);
        if (outcome === 'SYNC_NOT_DEAD_LETTERED') {
          expect(() => decideSync(c, s)).to.throw(CommandRejected).with.property('reason', outcome);
          return;
        }
        const events = decideSync(c, s);
        expect(events.map((e) => e.type)).to.deep.equal(outcome ? [outcome] : []);
      });
    }
  }

  it('numbers attempts over the whole life of the sync, redrives included', () => {
    const s = run([request, failure, failure, deadLetter, redrive(), failure]);
    expect(s).to.include({ attempts: 3, status: 'FAILED' });
    const [e] = decideSync(success, s);
    expect(e).to.deep.include({ type: 'SyncSucceeded' });
    expect((e!.data as { attempt: number }).attempt).to.equal(4);
    const dead = decideSync(deadLetter, run([request, failure, failure]));
    expect((dead[0]!.data as { attempts: number }).attempts).to.equal(2);
  });

  it('a repeated redrive command (same id) is one redrive; a new id after another dead letter is another', () => {
    const once = run([request, deadLetter, redrive('r-1')]);
    expect(decideSync(redrive('r-1'), once)).to.deep.equal([]);
    expect(() => decideSync(redrive('r-2'), once)).to.throw(CommandRejected, /only a dead-lettered sync/);
    const again = run([request, deadLetter, redrive('r-1'), failure, deadLetter]);
    expect(decideSync(redrive('r-2'), again).map((e) => e.type)).to.deep.equal(['SyncRedriven']);
  });

  it('any sequence of commands emits only schema-valid events and never leaves SUCCEEDED', () => {
    const arb = fc.constantFrom<SyncCommand>(request, success, failure, deadLetter, redrive('r-1'), redrive('r-2'));
    fc.assert(
      fc.property(fc.array(arb, { maxLength: 40 }), (cmds) => {
        let s = initialSyncState();
        let succeeded = false;
        for (const c of cmds) {
          let events;
          try {
            events = decideSync(c, s);
          } catch (e) {
            if (!(e instanceof CommandRejected)) throw e;
            continue;
          }
          for (const e of events) {
            validateEventData(e.type, undefined, e.data as unknown as Record<string, unknown>);
            s = evolveSync(s, e);
          }
          if (s.status === 'SUCCEEDED') succeeded = true;
          if (succeeded) expect(s.status).to.equal('SUCCEEDED');
        }
      }),
    );
  });

  it('names streams inside the sync category', () => {
    for (const id of [outboundSyncId('SIGA', request.sourceEventId), inboundSyncId('IMMIGRATION', 'chg-000042'), `mismatch.${mismatchIdOf('SIGA', '2345678901', 'status')}`]) {
      const streamId = id.startsWith('mismatch.') ? mismatchStreamId(id.slice('mismatch.'.length)) : syncStreamId(id);
      expect(parseStreamId(streamId).category).to.equal('sync');
    }
    expect(outboundSyncId('SIGA', 'e')).to.equal('siga.e');
    expect(inboundSyncId('IMMIGRATION', 'c')).to.equal('immigration.in.c');
  });
});

const mismatchId = mismatchIdOf('SIGA', '2345678901', 'status');
const found = (runId = 'run-1'): MismatchCommand => ({
  type: 'RecordMismatch',
  mismatchId,
  runId,
  system,
  uin: '2345678901',
  field: 'status',
  kind: 'VALUE_DIFFERS',
  registerValue: 'DECEASED',
  externalValue: 'ENROLLED',
  sealed: null,
  proposedRule: 'register-authoritative-status',
});
const resolve = (resolution: 'RULE' | 'OPERATOR' | 'CLEARED' = 'RULE'): MismatchCommand => ({
  type: 'ResolveMismatch',
  mismatchId,
  system,
  resolution,
  rule: resolution === 'RULE' ? 'register-authoritative-status' : null,
  action: resolution === 'CLEARED' ? 'NONE' : 'RESYNC',
  by: 'operator-1',
  note: '',
});

const choose = (action: ResolutionAction | 'NONE', id = mismatchId): MismatchCommand => ({ type: 'ChooseResolution', mismatchId: id, action, by: 'operator-1', note: 'checked the birth certificate' });
const complete = (action: ResolutionAction, id = mismatchId): MismatchCommand => ({ type: 'CompleteResolution', mismatchId: id, action, by: 'operator-1', note: 'checked the birth certificate' });
/** A difference found on one field (personal values sealed, as reconciliation records them). */
const foundOn = (sys: 'SIGA' | 'IMMIGRATION', field: string, kind: MismatchKind = 'VALUE_DIFFERS'): MismatchCommand => ({
  type: 'RecordMismatch',
  mismatchId: mismatchIdOf(sys, '2345678901', field),
  runId: 'run-1',
  system: sys,
  uin: '2345678901',
  field,
  kind,
  registerValue: null,
  externalValue: null,
  sealed: null,
  proposedRule: null,
});

function runMismatch(commands: MismatchCommand[]): MismatchState {
  let s = initialMismatchState();
  for (const c of commands) for (const e of decideMismatch(c, s)) s = evolveMismatch(s, e);
  return s;
}

describe('reconciliation mismatch decider', () => {
  it('records a difference once while it stays open, however many runs find it', () => {
    const s = runMismatch([found('run-1')]);
    expect(s).to.include({ exists: true, open: true, found: 1, lastRunId: 'run-1' });
    expect(decideMismatch(found('run-2'), s)).to.deep.equal([]);
  });

  it('resolves an open mismatch once; a later run that finds it again reopens it', () => {
    const resolved = runMismatch([found(), resolve()]);
    expect(resolved.open).to.equal(false);
    expect(() => decideMismatch(resolve(), resolved)).to.throw(CommandRejected).with.property('reason', 'MISMATCH_NOT_OPEN');
    const reopened = decideMismatch(found('run-3'), resolved);
    expect(reopened.map((e) => e.type)).to.deep.equal(['ReconciliationMismatchFound']);
  });

  it('refuses to resolve a mismatch nobody found', () => {
    expect(() => decideMismatch(resolve(), initialMismatchState())).to.throw(CommandRejected).with.property('reason', 'MISMATCH_NOT_FOUND');
  });

  it('leaves no way to record an operator\'s resolution without doing it: OPERATOR goes through ChooseResolution', () => {
    expect(() => decideMismatch(resolve('OPERATOR'), runMismatch([found()]))).to.throw(CommandRejected).with.property('reason', 'MISMATCH_ACTION_NOT_ALLOWED');
  });

  it('any sequence emits only schema-valid events', () => {
    const arb = fc.constantFrom<MismatchCommand>(
      found('a'),
      found('b'),
      resolve('RULE'),
      resolve('OPERATOR'),
      resolve('CLEARED'),
      choose('ACCEPT_REGISTER'),
      choose('ACCEPT_EXTERNAL'),
      choose('CLOSE_WITHOUT_CHANGE'),
      choose('NONE'),
      complete('ACCEPT_REGISTER'),
      complete('ACCEPT_EXTERNAL'),
    );
    fc.assert(
      fc.property(fc.array(arb, { maxLength: 30 }), (cmds) => {
        let s = initialMismatchState();
        let opens = 0;
        for (const c of cmds) {
          try {
            for (const e of decideMismatch(c, s)) {
              validateEventData(e.type, undefined, e.data as unknown as Record<string, unknown>);
              if (e.type === 'ReconciliationMismatchFound') opens++;
              // An operator's ACCEPT_* resolves only the choice made since the difference was last found.
              if (e.type === 'ReconciliationMismatchResolved' && String(e.data.action).startsWith('ACCEPT_') && e.data.resolution === 'OPERATOR') expect(s.pendingAction).to.equal(e.data.action);
              expect(e.type === 'ReconciliationMismatchResolved' && e.data.resolution === 'OPERATOR' && e.data.action === 'NONE').to.equal(false);
              s = evolveMismatch(s, e);
            }
          } catch (e) {
            if (!(e instanceof CommandRejected)) throw e;
          }
        }
        expect(s.found).to.equal(opens);
      }),
    );
  });
});

describe('reconciliation mismatch decider: an operator\'s resolution does what its action says', () => {
  const surname = foundOn('SIGA', 'surname');
  const surnameId = mismatchIdOf('SIGA', '2345678901', 'surname');
  const types = (events: Array<{ type: string }>) => events.map((e) => e.type);

  it('given an open difference, when ACCEPT_REGISTER is chosen, then the choice is recorded and the mismatch stays open', () => {
    const s = runMismatch([surname]);
    const events = decideMismatch(choose('ACCEPT_REGISTER', surnameId), s);
    expect(events).to.deep.equal([{ type: 'ReconciliationResolutionChosen', data: { mismatchId: surnameId, system: 'SIGA', uin: '2345678901', field: 'surname', action: 'ACCEPT_REGISTER', by: 'operator-1', note: 'checked the birth certificate' } }]);
    const after = runMismatch([surname, choose('ACCEPT_REGISTER', surnameId)]);
    expect(after).to.include({ open: true, pendingAction: 'ACCEPT_REGISTER' });
  });

  it('given ACCEPT_REGISTER chosen, when the sync succeeded, then it is resolved by the operator with ACCEPT_REGISTER', () => {
    const s = runMismatch([surname, choose('ACCEPT_REGISTER', surnameId)]);
    const events = decideMismatch(complete('ACCEPT_REGISTER', surnameId), s);
    expect(events).to.deep.equal([{ type: 'ReconciliationMismatchResolved', data: { mismatchId: surnameId, system: 'SIGA', resolution: 'OPERATOR', rule: null, action: 'ACCEPT_REGISTER', by: 'operator-1', note: 'checked the birth certificate' } }]);
    const done = runMismatch([surname, choose('ACCEPT_REGISTER', surnameId), complete('ACCEPT_REGISTER', surnameId)]);
    expect(done).to.include({ open: false, pendingAction: null });
    // A second completion (a redelivered success) changes nothing.
    expect(decideMismatch(complete('ACCEPT_REGISTER', surnameId), done)).to.deep.equal([]);
  });

  it('given ACCEPT_REGISTER chosen, a repeated choice is the same choice, a run that finds it again records nothing, and the other ACCEPT waits', () => {
    const s = runMismatch([surname, choose('ACCEPT_REGISTER', surnameId)]);
    expect(decideMismatch(choose('ACCEPT_REGISTER', surnameId), s)).to.deep.equal([]);
    expect(decideMismatch({ ...surname, runId: 'run-2' } as MismatchCommand, s)).to.deep.equal([]);
    expect(() => decideMismatch(choose('ACCEPT_EXTERNAL', surnameId), s)).to.throw(CommandRejected).with.property('reason', 'MISMATCH_RESOLUTION_PENDING');
    // A completion of an action that was not chosen completes nothing.
    expect(decideMismatch(complete('ACCEPT_EXTERNAL', surnameId), s)).to.deep.equal([]);
  });

  it('given an open personal difference at SIGA, when ACCEPT_EXTERNAL is chosen and the identity updated, then it is resolved with ACCEPT_EXTERNAL', () => {
    const s = runMismatch([surname]);
    expect(types(decideMismatch(choose('ACCEPT_EXTERNAL', surnameId), s))).to.deep.equal(['ReconciliationResolutionChosen']);
    const chosen = runMismatch([surname, choose('ACCEPT_EXTERNAL', surnameId)]);
    expect(decideMismatch(complete('ACCEPT_EXTERNAL', surnameId), chosen)[0]!.data).to.include({ resolution: 'OPERATOR', action: 'ACCEPT_EXTERNAL' });
    for (const field of ['givenNames', 'dateOfBirth', 'sex']) {
      expect(types(decideMismatch(choose('ACCEPT_EXTERNAL', mismatchIdOf('SIGA', '2345678901', field)), runMismatch([foundOn('SIGA', field)]))), field).to.deep.equal(['ReconciliationResolutionChosen']);
    }
  });

  it('refuses ACCEPT_EXTERNAL for numbers and statuses (they change through the register\'s own procedures)', () => {
    for (const [sys, field] of [['SIGA', 'civilRegistryNumber'], ['SIGA', 'identityStatus'], ['SIGA', 'civilStatus'], ['IMMIGRATION', 'permitNumber'], ['IMMIGRATION', 'permitStatus']] as const) {
      const id = mismatchIdOf(sys, '2345678901', field);
      expect(() => decideMismatch(choose('ACCEPT_EXTERNAL', id), runMismatch([foundOn(sys, field)])), field).to.throw(CommandRejected).with.property('reason', 'MISMATCH_ACTION_NOT_ALLOWED');
      // The register's value can always be sent.
      expect(types(decideMismatch(choose('ACCEPT_REGISTER', id), runMismatch([foundOn(sys, field)]))), field).to.deep.equal(['ReconciliationResolutionChosen']);
    }
  });

  it('given a record only the system has, refuses both ACCEPTs and closes it without change', () => {
    const record = foundOn('SIGA', 'record', 'MISSING_IN_REGISTER');
    const id = mismatchIdOf('SIGA', '2345678901', 'record');
    const s = runMismatch([record]);
    for (const action of ['ACCEPT_REGISTER', 'ACCEPT_EXTERNAL'] as const) {
      expect(() => decideMismatch(choose(action, id), s), action).to.throw(CommandRejected).with.property('reason', 'MISMATCH_ACTION_NOT_ALLOWED');
    }
    expect(decideMismatch(choose('CLOSE_WITHOUT_CHANGE', id), s)[0]!.data).to.include({ resolution: 'OPERATOR', action: 'CLOSE_WITHOUT_CHANGE' });
    // Missing at the system: the register's record can be sent again.
    const missing = foundOn('SIGA', 'record', 'MISSING_IN_EXTERNAL');
    expect(types(decideMismatch(choose('ACCEPT_REGISTER', id), runMismatch([missing])))).to.deep.equal(['ReconciliationResolutionChosen']);
  });

  it('CLOSE_WITHOUT_CHANGE (NONE, its old name, alike) closes at once, withdraws a pending choice, and a later run reopens it', () => {
    for (const action of ['CLOSE_WITHOUT_CHANGE', 'NONE'] as const) {
      const events = decideMismatch(choose(action, surnameId), runMismatch([surname]));
      expect(events).to.deep.equal([{ type: 'ReconciliationMismatchResolved', data: { mismatchId: surnameId, system: 'SIGA', resolution: 'OPERATOR', rule: null, action: 'CLOSE_WITHOUT_CHANGE', by: 'operator-1', note: 'checked the birth certificate' } }]);
    }
    const withdrawn = runMismatch([surname, choose('ACCEPT_REGISTER', surnameId), choose('CLOSE_WITHOUT_CHANGE', surnameId)]);
    expect(withdrawn).to.include({ open: false, pendingAction: null });
    // The sync that was under way lands later: the mismatch is already closed.
    expect(decideMismatch(complete('ACCEPT_REGISTER', surnameId), withdrawn)).to.deep.equal([]);
    const reopened = runMismatch([surname, choose('CLOSE_WITHOUT_CHANGE', surnameId), { ...surname, runId: 'run-2' } as MismatchCommand]);
    expect(reopened).to.include({ open: true, found: 2, pendingAction: null });
  });

  it('refuses a choice on a mismatch nobody found or already resolved', () => {
    expect(() => decideMismatch(choose('ACCEPT_REGISTER', surnameId), initialMismatchState())).to.throw(CommandRejected).with.property('reason', 'MISMATCH_NOT_FOUND');
    expect(() => decideMismatch(complete('ACCEPT_REGISTER', surnameId), initialMismatchState())).to.throw(CommandRejected).with.property('reason', 'MISMATCH_NOT_FOUND');
    const closed = runMismatch([surname, choose('CLOSE_WITHOUT_CHANGE', surnameId)]);
    expect(() => decideMismatch(choose('ACCEPT_EXTERNAL', surnameId), closed)).to.throw(CommandRejected).with.property('reason', 'MISMATCH_NOT_OPEN');
  });
});
