import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { isLoopbackAddress } from '@registo/base';
import { DEV_API_TOKENS } from '@registo/config';
import { RegistoError } from '@registo/schemas';
import { type Refusal, RefusalRecorder } from './refusals.js';

/** Who is calling, as recorded in the events their requests cause. */
export interface ApiActor {
  id: string;
  role: ApiRole;
}

export const API_ROLES = [
  'identity_officer', 'adjudicator', 'registration_client', 'operator', 'auditor',
  // Credentials: the second person of dual control, the channel that delivers credentials to holders, the card printer.
  'approver', 'holder_channel', 'print_bureau',
] as const;
export type ApiRole = (typeof API_ROLES)[number];

/** The development tokens are published in the docs: anyone may know them, so only this machine may use them. */
const WELL_KNOWN_TOKENS = new Set(DEV_API_TOKENS.split(',').map((entry) => entry.split(':')[0]!));

/**
 * Whether a token may be used from `remoteAddress`: any configured token from anywhere, but a
 * well-known development token only over a loopback connection.
 */
export function tokenAllowedFrom(token: string, remoteAddress: string | undefined): boolean {
  return !WELL_KNOWN_TOKENS.has(token) || isLoopbackAddress(remoteAddress);
}

interface TokenEntry {
  token: Buffer;
  actor: ApiActor;
  /** A well-known development token: refused on any connection that is not from this machine. */
  loopbackOnly: boolean;
}

/**
 * Bearer tokens of the people and systems allowed to call the API, each bound to one actor.
 * Parsed from `token:id:role` entries (REGISTO_API_TOKENS). Tokens are compared in constant time.
 * Every refusal is logged and counted by the `refusals` recorder (never with the token).
 */
export class ApiTokens {
  private constructor(
    private readonly entries: TokenEntry[],
    readonly refusals: RefusalRecorder,
  ) {}

  static parse(spec: string, refusals: RefusalRecorder = new RefusalRecorder()): ApiTokens {
    const entries = spec
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map((entry) => {
        const [token, id, role] = entry.split(':');
        if (!token || !id || !role || !(API_ROLES as readonly string[]).includes(role)) {
          throw new RegistoError('CONFIG_INVALID', `API token entries are token:id:role with role one of ${API_ROLES.join(', ')}`, { entry: `${entry.slice(0, 4)}…` });
        }
        return { token: Buffer.from(token), actor: { id, role: role as ApiRole }, loopbackOnly: WELL_KNOWN_TOKENS.has(token) };
      });
    return new ApiTokens(entries, refusals);
  }

  /** The actor behind the request's bearer token, if its role is one of `roles`. */
  authorize(request: FastifyRequest, roles: readonly ApiRole[]): ApiActor {
    const match = /^Bearer (.+)$/.exec(request.headers.authorization ?? '');
    const given = match?.[1] ? Buffer.from(match[1]) : null;
    if (!given) this.refuse(request, { code: 'UNAUTHENTICATED', reason: 'NO_BEARER_TOKEN', actor: null }, 'a valid bearer token is required');
    const found = this.entries.find((e) => e.token.length === given.length && timingSafeEqual(e.token, given));
    if (!found) this.refuse(request, { code: 'UNAUTHENTICATED', reason: 'UNKNOWN_TOKEN', actor: null }, 'a valid bearer token is required');
    // The socket's peer, not a forwarded-for header a client could write.
    if (found.loopbackOnly && !isLoopbackAddress(request.socket.remoteAddress)) {
      this.refuse(request, { code: 'DEVELOPMENT_TOKEN_REMOTE', reason: 'DEVELOPMENT_TOKEN_NOT_LOOPBACK', actor: found.actor }, 'development tokens are accepted only on connections from this machine');
    }
    if (!roles.includes(found.actor.role)) {
      this.refuse(request, { code: 'FORBIDDEN', reason: 'ROLE_NOT_ALLOWED', actor: found.actor }, `role ${found.actor.role} may not do this; allowed: ${roles.join(', ')}`, {
        role: found.actor.role,
        allowed: [...roles],
      });
    }
    return found.actor;
  }

  /** Records a refusal decided elsewhere (dual control, holder binding) and throws its error. */
  refuse(request: FastifyRequest, refusal: Refusal, message: string, details: Record<string, unknown> = {}): never {
    this.refusals.record(request, refusal);
    throw new RegistoError(refusal.code, message, details);
  }
}
