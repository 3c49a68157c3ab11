import { expect } from 'chai';
import fc from 'fast-check';
import { validateEventData } from '@registo/schemas';
import {
  CommandRejected,
  type MismatchCommand,
  type MismatchState,
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
import { parseStreamId } from '@registo/schemas';

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
const resolve = (resolution: 'RULE' | 'OPERATOR' | 'CLEARED' = 'OPERATOR'): MismatchCommand => ({
  type: 'ResolveMismatch',
  mismatchId,
  system,
  resolution,
  rule: null,
  action: 'ACCEPT_REGISTER',
  by: 'operator-1',
  note: '',
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

  it('any sequence emits only schema-valid events', () => {
    const arb = fc.constantFrom<MismatchCommand>(found('a'), found('b'), resolve('RULE'), resolve('OPERATOR'), resolve('CLEARED'));
    fc.assert(
      fc.property(fc.array(arb, { maxLength: 30 }), (cmds) => {
        let s = initialMismatchState();
        let opens = 0;
        for (const c of cmds) {
          try {
            for (const e of decideMismatch(c, s)) {
              validateEventData(e.type, undefined, e.data as unknown as Record<string, unknown>);
              if (e.type === 'ReconciliationMismatchFound') opens++;
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
