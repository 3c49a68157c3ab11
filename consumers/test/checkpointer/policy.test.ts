import { expect } from 'chai';
import { checkpointDue } from '../../src/checkpointer/policy.js';

const cadence = { every: 100, intervalMs: 1000 };

describe('checkpoint cadence', () => {
  it('is not due when nothing was added since the last checkpoint', () => {
    expect(checkpointDue({ treeSize: 50, checkpointSize: 50, checkpointAtMs: 0, lastOtherPosition: 50 }, 10_000, cadence)).to.deep.equal({ due: false });
    expect(checkpointDue({ treeSize: 0, checkpointSize: 0, checkpointAtMs: 0, lastOtherPosition: 0 }, 10_000, cadence)).to.deep.equal({ due: false });
  });
  it('is due every N leaves, checkpoint events included, whatever the time', () => {
    expect(checkpointDue({ treeSize: 150, checkpointSize: 50, checkpointAtMs: 9_999, lastOtherPosition: 60 }, 10_000, cadence)).to.deep.equal({ due: true, reason: 'count' });
    expect(checkpointDue({ treeSize: 149, checkpointSize: 50, checkpointAtMs: 9_999, lastOtherPosition: 149 }, 10_000, cadence)).to.deep.equal({ due: false });
  });
  it('is due after T when another event arrived, and never because of a checkpoint event alone', () => {
    expect(checkpointDue({ treeSize: 52, checkpointSize: 50, checkpointAtMs: 8_000, lastOtherPosition: 52 }, 10_000, cadence)).to.deep.equal({ due: true, reason: 'interval' });
    expect(checkpointDue({ treeSize: 52, checkpointSize: 50, checkpointAtMs: 9_500, lastOtherPosition: 52 }, 10_000, cadence)).to.deep.equal({ due: false });
    // Only the last checkpoint's own CheckpointSigned is new: an idle log signs nothing more.
    expect(checkpointDue({ treeSize: 51, checkpointSize: 50, checkpointAtMs: 0, lastOtherPosition: 50 }, 1e12, cadence)).to.deep.equal({ due: false });
  });
  it('signs the first checkpoint of a log after T', () => {
    expect(checkpointDue({ treeSize: 3, checkpointSize: 0, checkpointAtMs: 0, lastOtherPosition: 3 }, 10_000, cadence)).to.deep.equal({ due: true, reason: 'interval' });
  });
});
