import { expect } from 'chai';
import type { EventEnvelope } from '@registo/schemas';
import { causedBy, requestSyncCommand } from '../src/index.js';

/* The RequestSync every sync job starts with, and the metadata of what a role writes in answer to an event. */

describe('requestSyncCommand', () => {
  const job = { syncId: 'siga.e-1', system: 'SIGA' as const, direction: 'OUTBOUND' as const, operation: 'STATUS_UPDATE', uin: '1234567890', fields: ['status'] };

  it('given a stored source event, then the sync names its stream, revision and type, keyed by the given key', () => {
    expect(requestSyncCommand(job, { key: 'e-1', event: { streamId: 'identity-1234567890', revision: 3, type: 'IdentityStatusChanged' } })).to.deep.equal({
      type: 'RequestSync',
      syncId: 'siga.e-1',
      system: 'SIGA',
      direction: 'OUTBOUND',
      operation: 'STATUS_UPDATE',
      uin: '1234567890',
      sourceEventId: 'e-1',
      sourceStreamId: 'identity-1234567890',
      sourceRevision: 3,
      sourceType: 'IdentityStatusChanged',
      fields: ['status'],
    });
  });

  it('given no stored event (a webhook change, a reconciliation), then no stream or revision, and the source type as given', () => {
    const cmd = requestSyncCommand({ ...job, direction: 'INBOUND' }, { key: 'chg-7', sourceType: 'SIGA:WEBHOOK' });
    expect([cmd.sourceEventId, cmd.sourceStreamId, cmd.sourceRevision, cmd.sourceType, cmd.direction]).to.deep.equal(['chg-7', null, null, 'SIGA:WEBHOOK', 'INBOUND']);
  });
});

describe('causedBy', () => {
  const cause = (traceparent: string | null): EventEnvelope => ({
    eventId: 'ev-9',
    streamId: 'enrollment-r1',
    revision: 0,
    position: 1,
    type: 'EnrollmentSubmitted',
    schemaVersion: 1,
    data: {},
    metadata: { correlationId: 'corr-1', causationId: null, actor: { id: 'x', role: 'y' }, occurredAt: '', recordedAt: '', traceparent },
    hash: '',
  });

  it('given an event with a trace, then the answer keeps its correlation and trace and names it as the cause', () => {
    expect(causedBy(cause('00-abc-def-01'), { id: 'sync-siga', role: 'system' })).to.deep.equal({
      correlationId: 'corr-1',
      causationId: 'ev-9',
      actor: { id: 'sync-siga', role: 'system' },
      traceparent: '00-abc-def-01',
    });
  });

  it('given an event with no trace, then the answer carries none', () => {
    expect(causedBy(cause(null), { id: 'p', role: 'system' })).to.not.have.property('traceparent');
  });
});
