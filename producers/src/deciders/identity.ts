import { type IdentityEventData, type IdentityStatus, type Residency, eventGuard } from '@registo/schemas';
import { type Decider, type DeciderEvent, reject } from '../decider.js';

export interface IdentityState {
  exists: boolean;
  uin: string | null;
  status: IdentityStatus | null;
  residency: Residency | null;
  regIds: string[];
  /** Blind index of the citizen's civil-registry number, as last recorded; null for foreigners. */
  civilRegistryIndex: string | null;
  /** Blind index of the foreigner's residence-permit number, as last recorded; null for citizens. */
  permitIndex: string | null;
  /** The subject's data key was destroyed: nothing personal can be added any more. */
  erased: boolean;
}

export type IdentityCommand =
  | ({ type: 'CreateIdentity' } & IdentityEventData['IdentityCreated'])
  /** `civilRegistryIndex` / `permitIndex` omitted: the number does not change (e.g. a name corrected by the registry). */
  | ({
      type: 'UpdateIdentity';
      /** An officer agreed that this update changes the person's civil-registry or permit number (a correction, a duplicate treated as an update). */
      anchorChangeApproved?: boolean;
    } & IdentityEventData['IdentityUpdated'])
  | { type: 'ChangeIdentityStatus'; uin: string; to: IdentityStatus; reason: string; source: string }
  | ({ type: 'DestroySubjectKey' } & IdentityEventData['SubjectKeyDestroyed']);

export type IdentityEvent = DeciderEvent<IdentityEventData>;

export function initialIdentityState(): IdentityState {
  return { exists: false, uin: null, status: null, residency: null, regIds: [], civilRegistryIndex: null, permitIndex: null, erased: false };
}

function requireIdentity(state: IdentityState, command: IdentityCommand): IdentityStatus {
  if (!state.exists || state.status === null) reject('IDENTITY_NOT_FOUND', `${command.type}: no identity ${command.uin}`);
  return state.status;
}

export function decideIdentity(command: IdentityCommand, state: IdentityState): IdentityEvent[] {
  switch (command.type) {
    case 'CreateIdentity': {
      if (state.exists) {
        if (state.regIds[0] === command.regId) return [];
        reject('IDENTITY_EXISTS', `identity ${command.uin} already exists`);
      }
      const { type: _t, ...data } = command;
      return [{ type: 'IdentityCreated', data }];
    }
    case 'UpdateIdentity': {
      const status = requireIdentity(state, command);
      if (state.regIds.includes(command.regId)) return [];
      if (state.erased) reject('IDENTITY_ERASED', `identity ${command.uin} has been erased`);
      if (status !== 'ACTIVE') reject('IDENTITY_NOT_ACTIVE', `identity ${command.uin} is ${status}`, { status });
      // The civil-registry (or permit) number is who the person is in the registry: an update
      // that would make the identity someone else's is refused unless an officer agreed to it.
      const civilRegistryIndex = command.civilRegistryIndex === undefined ? state.civilRegistryIndex : command.civilRegistryIndex;
      const permitIndex = command.permitIndex === undefined ? state.permitIndex : command.permitIndex;
      const changes = (before: string | null, after: string | null): boolean => before !== null && after !== before;
      if ((changes(state.civilRegistryIndex, civilRegistryIndex) || changes(state.permitIndex, permitIndex)) && command.anchorChangeApproved !== true) {
        reject('ANCHOR_MISMATCH', `an update of identity ${command.uin} would change its civil-registry or permit number without an officer's approval`);
      }
      const { type: _t, anchorChangeApproved: _a, ...data } = command;
      // The event always says which indexes hold afterwards, so every read model can follow them.
      return [{ type: 'IdentityUpdated', data: { ...data, civilRegistryIndex, permitIndex } }];
    }
    case 'ChangeIdentityStatus': {
      const status = requireIdentity(state, command);
      if (status === command.to) return [];
      if (status === 'DECEASED') reject('IDENTITY_DECEASED', `identity ${command.uin} is DECEASED; its status cannot change`);
      return [{ type: 'IdentityStatusChanged', data: { uin: command.uin, from: status, to: command.to, reason: command.reason, source: command.source } }];
    }
    case 'DestroySubjectKey': {
      requireIdentity(state, command);
      if (state.erased) return [];
      const { type: _t, ...data } = command;
      return [{ type: 'SubjectKeyDestroyed', data }];
    }
  }
}

export function evolveIdentity(state: IdentityState, event: IdentityEvent): IdentityState {
  switch (event.type) {
    case 'IdentityCreated':
      return {
        ...state,
        exists: true,
        uin: event.data.uin,
        status: 'ACTIVE',
        residency: event.data.residency,
        regIds: [event.data.regId],
        civilRegistryIndex: event.data.civilRegistryIndex ?? null,
        permitIndex: event.data.permitIndex ?? null,
      };
    case 'IdentityUpdated':
      // Updates written before the indexes travelled with them leave them as they were.
      return {
        ...state,
        regIds: [...state.regIds, event.data.regId],
        civilRegistryIndex: event.data.civilRegistryIndex ?? state.civilRegistryIndex,
        permitIndex: event.data.permitIndex ?? state.permitIndex,
      };
    case 'IdentityStatusChanged':
      return { ...state, status: event.data.to };
    case 'SubjectKeyDestroyed':
      return { ...state, erased: true };
  }
}

export const identityDecider: Decider<IdentityCommand, IdentityState, IdentityEventData> = {
  accepts: eventGuard('identity'),
  initialState: initialIdentityState,
  decide: decideIdentity,
  evolve: evolveIdentity,
};

export const identityStreamId = (uin: string): string => `identity-${uin}`;
