import { type CeremonyKeyData, type TrustEventData, eventGuard } from '@registo/schemas';
import type { Decider, DeciderEvent } from '../decider.js';

/** The stream that records the key ceremonies of the trust-service hierarchy. */
export const KEY_CEREMONY_STREAM = 'trust-key-ceremony';

export interface TrustState {
  /** The keys and certificates as the last recorded ceremony left them. */
  recorded: CeremonyKeyData[] | null;
  mode: TrustEventData['KeyCeremonyPerformed']['mode'] | null;
  ceremonies: number;
}

export type TrustCommand = { type: 'RecordKeyCeremony' } & TrustEventData['KeyCeremonyPerformed'];

export type TrustEvent = DeciderEvent<TrustEventData>;

export function initialTrustState(): TrustState {
  return { recorded: null, mode: null, ceremonies: 0 };
}

/** What identifies the hierarchy: each key's label, role, public key and certificate. */
function fingerprint(mode: string, keys: readonly CeremonyKeyData[]): string {
  return JSON.stringify([mode, ...[...keys].sort((a, b) => a.label.localeCompare(b.label)).map((k) => [k.label, k.role, k.publicKeySha256, k.certificate?.sha256 ?? null])]);
}

/**
 * A ceremony is recorded when it changed something — a key generated, a certificate issued — or
 * when what it found differs from the last record; re-running over an unchanged hierarchy
 * records nothing.
 */
export function decideTrust(command: TrustCommand, state: TrustState): TrustEvent[] {
  switch (command.type) {
    case 'RecordKeyCeremony': {
      const { type: _t, ...data } = command;
      if (state.recorded && state.mode && fingerprint(state.mode, state.recorded) === fingerprint(data.mode, data.keys)) return [];
      return [{ type: 'KeyCeremonyPerformed', data }];
    }
  }
}

export function evolveTrust(state: TrustState, event: TrustEvent): TrustState {
  switch (event.type) {
    case 'KeyCeremonyPerformed':
      return { recorded: event.data.keys, mode: event.data.mode, ceremonies: state.ceremonies + 1 };
  }
}

export const trustDecider: Decider<TrustCommand, TrustState, TrustEventData> = {
  accepts: eventGuard('trust'),
  initialState: initialTrustState,
  decide: decideTrust,
  evolve: evolveTrust,
};
