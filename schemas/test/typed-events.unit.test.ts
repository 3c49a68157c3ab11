import { expect } from 'chai';
import {
  type EventEnvelope,
  type EventCategory,
  CATEGORIES,
  RegistoError,
  eventGuard,
  expectEventOf,
  expectEventType,
  isEventOf,
  isEventType,
  isKnownEvent,
  schemaCatalog,
} from '../src/index.js';
import { samples } from './samples.js';

const metadata = { correlationId: 'c', causationId: null, actor: { id: 'a', role: 'system' }, occurredAt: '2026-11-20T10:00:00Z', recordedAt: '2026-11-20T10:00:00Z', traceparent: null };

function envelope(type: string, data: unknown, streamId = 'identity-2345678901', schemaVersion = 1): EventEnvelope {
  // Built as a store would hand it back, with data of any shape: the guard is what is tested.
  const e = { eventId: '0190f000-0000-7000-8000-000000000001', streamId, revision: 3, position: 9, type, schemaVersion, data: {}, metadata, hash: 'h' };
  return Object.assign(e, { data });
}

describe('typed event reads: isEventOf / expectEventOf', () => {
  it('accepts an event of the category with data valid for its schema, and narrows it', () => {
    const e = envelope('IdentityStatusChanged', samples.IdentityStatusChanged);
    expect(isEventOf('identity', e)).to.equal(true);
    const typed = expectEventOf('identity', e);
    // The narrowed type lets the data be read without a cast; the value is what was stored.
    if (typed.type !== 'IdentityStatusChanged') throw new Error(`narrowed to ${typed.type}`);
    expect(typed.data.to).to.equal(samples.IdentityStatusChanged.to);
  });

  it('refuses a type of another category', () => {
    const e = envelope('EnrollmentApproved', samples.EnrollmentApproved);
    expect(isEventOf('identity', e)).to.equal(false);
    expect(isEventOf('enrollment', e)).to.equal(true);
  });

  it('refuses an unknown type and an unknown schema version', () => {
    expect(isEventOf('identity', envelope('IdentityMerged', { uin: '1' }))).to.equal(false);
    expect(isEventOf('identity', envelope('IdentityStatusChanged', samples.IdentityStatusChanged, 'identity-1', 7))).to.equal(false);
  });

  it('refuses data its schema does not accept (a field missing, a wrong type, not an object)', () => {
    const { reason: _r, ...withoutReason } = samples.IdentityStatusChanged;
    expect(isEventOf('identity', envelope('IdentityStatusChanged', withoutReason))).to.equal(false);
    expect(isEventOf('identity', envelope('IdentityStatusChanged', { ...samples.IdentityStatusChanged, to: 'GONE' }))).to.equal(false);
    expect(isEventOf('identity', envelope('IdentityStatusChanged', 'not an object'))).to.equal(false);
  });

  it('tolerates a field a later writer added (the reader ignores it)', () => {
    expect(isEventOf('identity', envelope('IdentityStatusChanged', { ...samples.IdentityStatusChanged, addedLater: 'x' }))).to.equal(true);
  });

  it('expectEventOf throws EVENT_NOT_OF_CATEGORY naming the event and what was expected', () => {
    const e = envelope('EnrollmentApproved', samples.EnrollmentApproved, 'enrollment-R-1');
    let thrown: unknown;
    try {
      expectEventOf('credential', e);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).to.be.instanceOf(RegistoError);
    const err = thrown as RegistoError;
    expect(err.code).to.equal('EVENT_NOT_OF_CATEGORY');
    expect(err.details).to.deep.equal({ streamId: 'enrollment-R-1', revision: 3, type: 'EnrollmentApproved', schemaVersion: 1, expected: 'credential' });
    expect(err.message).to.contain("belongs to category 'enrollment'");
  });

  it('every sample is an event of its own category and of no other; isKnownEvent accepts each', () => {
    const catalog = schemaCatalog();
    const categories = CATEGORIES.filter((c): c is EventCategory => c !== 'access');
    for (const [type, data] of Object.entries(samples)) {
      const own = catalog.get(type).category;
      const e = envelope(type, data);
      expect(categories.filter((c) => isEventOf(c, e)), type).to.deep.equal([own]);
      expect(isKnownEvent(e), type).to.equal(true);
    }
    expect(isKnownEvent(envelope('NoSuchEvent', {}))).to.equal(false);
  });

  it('eventGuard(category) is isEventOf as a function to hand to a read', () => {
    const guard = eventGuard('sync');
    expect(guard(envelope('SyncRedriven', samples.SyncRedriven, 'sync-siga.1'))).to.equal(true);
    expect(guard(envelope('IdentityStatusChanged', samples.IdentityStatusChanged))).to.equal(false);
  });

  it('isEventType / expectEventType narrow to one type, checked like isEventOf', () => {
    const chosen = envelope('ReconciliationResolutionChosen', samples.ReconciliationResolutionChosen, 'sync-mismatch.siga.1.surname');
    expect(isEventType('ReconciliationResolutionChosen', chosen)).to.equal(true);
    expect(expectEventType('ReconciliationResolutionChosen', chosen).data.action).to.equal(samples.ReconciliationResolutionChosen.action);
    expect(isEventType('SyncRedriven', chosen)).to.equal(false);
    const { field: _f, ...partial } = samples.ReconciliationResolutionChosen;
    const bad = envelope('ReconciliationResolutionChosen', partial);
    expect(isEventType('ReconciliationResolutionChosen', bad)).to.equal(false);
    expect(() => expectEventType('ReconciliationResolutionChosen', bad)).to.throw(RegistoError, 'not valid for its schema');
  });
});
