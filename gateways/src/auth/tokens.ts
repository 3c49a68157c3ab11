import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { RegistoError } from '@registo/schemas';

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

/**
 * Bearer tokens of the people and systems allowed to call the API, each bound to one actor.
 * Parsed from `token:id:role` entries (REGISTO_API_TOKENS). Tokens are compared in constant time.
 */
export class ApiTokens {
  private constructor(private readonly entries: Array<{ token: Buffer; actor: ApiActor }>) {}

  static parse(spec: string): ApiTokens {
    const entries = spec
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map((entry) => {
        const [token, id, role] = entry.split(':');
        if (!token || !id || !role || !(API_ROLES as readonly string[]).includes(role)) {
          throw new RegistoError('CONFIG_INVALID', `API token entries are token:id:role with role one of ${API_ROLES.join(', ')}`, { entry: `${entry.slice(0, 4)}…` });
        }
        return { token: Buffer.from(token), actor: { id, role: role as ApiRole } };
      });
    return new ApiTokens(entries);
  }

  /** The actor behind the request's bearer token, if its role is one of `roles`. */
  authorize(request: FastifyRequest, roles: readonly ApiRole[]): ApiActor {
    const match = /^Bearer (.+)$/.exec(request.headers.authorization ?? '');
    const given = match?.[1] ? Buffer.from(match[1]) : null;
    const found = given ? this.entries.find((e) => e.token.length === given.length && timingSafeEqual(e.token, given)) : undefined;
    if (!found) throw new RegistoError('UNAUTHENTICATED', 'a valid bearer token is required');
    if (!roles.includes(found.actor.role)) {
      throw new RegistoError('FORBIDDEN', `role ${found.actor.role} may not do this; allowed: ${roles.join(', ')}`, { role: found.actor.role, allowed: [...roles] });
    }
    return found.actor;
  }
}
