import type { FastifyRequest } from 'fastify';
import type { ErrorCode } from '@registo/schemas';
import type { ApiActor } from './tokens.js';

/** Why a request was refused: stable words for logs and counters, never the token itself. */
export type RefusalReason =
  | 'NO_BEARER_TOKEN'
  | 'UNKNOWN_TOKEN'
  | 'DEVELOPMENT_TOKEN_NOT_LOOPBACK'
  | 'ROLE_NOT_ALLOWED'
  | 'HOLDER_PROOF_MISSING'
  | 'HOLDER_PROOF_INVALID'
  | 'HOLDER_NOT_BOUND'
  | 'WEBHOOK_SIGNATURE_INVALID'
  | 'DUAL_CONTROL'
  /** A packet signed by a device the registration CA does not vouch for (now), or not matching its certificate. */
  | 'DEVICE_NOT_TRUSTED'
  /** A packet from a device of one centre naming another. */
  | 'DEVICE_OTHER_CENTRE';

export interface Refusal {
  code: ErrorCode;
  reason: RefusalReason;
  /** Known when the token (or the packet's signing device) was; null for an unauthenticated caller. */
  actor: ApiActor | { id: string; role: 'registration_device' } | null;
}

interface WarnLogger {
  warn(fields: Record<string, unknown>, message: string): void;
}

/**
 * Every refused authentication and authorization, logged (who, route, reason, request id) and
 * counted, so that an operator sees someone trying tokens or roles in /readyz and in the logs.
 */
export class RefusalRecorder {
  private readonly counts = new Map<string, number>();
  private total = 0;

  constructor(private readonly logger: WarnLogger | null = null) {}

  record(request: FastifyRequest, refusal: Refusal): void {
    this.total += 1;
    const key = `${refusal.code}:${refusal.reason}`;
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
    // The route template, not the URL: a path may carry a UIN or a credential id.
    const route = `${request.method} ${request.routeOptions.url ?? '(unmatched)'}`;
    const fields = { refusal: { code: refusal.code, reason: refusal.reason, actor: refusal.actor, route, remoteAddress: request.socket.remoteAddress ?? null } };
    // The request's own logger carries its reqId already; another logger is told it.
    if (this.logger) this.logger.warn({ ...fields, reqId: request.id }, 'request refused');
    else request.log.warn(fields, 'request refused');
  }

  /** For /readyz: how many, and by `CODE:REASON`. */
  snapshot(): { total: number; byReason: Record<string, number> } {
    return { total: this.total, byReason: Object.fromEntries([...this.counts.entries()].sort(([a], [b]) => a.localeCompare(b))) };
  }
}
