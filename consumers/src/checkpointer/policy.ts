/*
 * When the checkpointer signs (pure, so every case is tested): every `every` leaves, or every
 * `intervalMs` while the log has moved. A CheckpointSigned event is a leaf like any other and
 * counts towards `every`, but on its own it never makes the timer due — otherwise each checkpoint
 * would cause the next one and an idle log would sign forever. An idle log therefore stops after
 * the checkpoint that covers every event except that checkpoint's own CheckpointSigned, which the
 * next checkpoint covers once anything else happens.
 */

export interface CheckpointCadence {
  /** Sign when this many leaves have been added since the last checkpoint (default 10,000). */
  every: number;
  /** Sign when this long has passed since the last checkpoint and other events arrived (default 1 s). */
  intervalMs: number;
}

export const DEFAULT_CADENCE: CheckpointCadence = { every: 10_000, intervalMs: 1_000 };

export interface CadenceState {
  /** Leaves in the tree now. */
  treeSize: number;
  /** Tree size of the last checkpoint (0 before the first). */
  checkpointSize: number;
  /** When the last checkpoint was signed (ms since epoch; 0 before the first). */
  checkpointAtMs: number;
  /** Position of the latest leaf that is not a CheckpointSigned event (0 if none). */
  lastOtherPosition: number;
}

export type CadenceDecision = { due: false } | { due: true; reason: 'count' | 'interval' };

export function checkpointDue(s: CadenceState, nowMs: number, cadence: CheckpointCadence): CadenceDecision {
  if (s.treeSize <= s.checkpointSize) return { due: false };
  if (s.treeSize - s.checkpointSize >= cadence.every) return { due: true, reason: 'count' };
  if (s.lastOtherPosition > s.checkpointSize && nowMs - s.checkpointAtMs >= cadence.intervalMs) return { due: true, reason: 'interval' };
  return { due: false };
}
