import { join } from 'node:path';
import type { AbisGallery } from './abis.js';
import { Journal } from './journal.js';
import type { SyncLedger } from './sync-ledger.js';

/**
 * Where the simulators keep what they were told, as the systems they stand in for keep theirs:
 * the ABIS its gallery (templates and first answers), SIGA and Immigration their records,
 * idempotency answers and change feeds. One journal per simulator under the state directory
 * (`registo start`: `<data dir>/simulators`); each is replayed before its server answers.
 */
export const SIMULATOR_STATE_FILES = { siga: 'siga.jsonl', immigration: 'immigration.jsonl', abis: 'abis.jsonl' } as const;

export interface SimulatorState {
  sigaLedger: SyncLedger;
  immigrationLedger: SyncLedger;
  gallery: AbisGallery;
}

/** Replays each journal into its holder, then keeps the holder writing to it; `close()` after the servers stop. */
export async function keepSimulatorState(stateDir: string, state: SimulatorState): Promise<{ close(): Promise<void> }> {
  const holders = [
    [SIMULATOR_STATE_FILES.siga, state.sigaLedger],
    [SIMULATOR_STATE_FILES.immigration, state.immigrationLedger],
    [SIMULATOR_STATE_FILES.abis, state.gallery],
  ] as const;
  const journals: Journal[] = [];
  try {
    for (const [file, holder] of holders) {
      const journal = await Journal.open(join(stateDir, file), (entry) => holder.restore(entry));
      holder.keepIn(journal);
      journals.push(journal);
    }
  } catch (e) {
    await Promise.allSettled(journals.map((j) => j.close()));
    throw e;
  }
  return {
    async close() {
      await Promise.all(journals.map((j) => j.close()));
    },
  };
}
