import type { FastifyRequest } from 'fastify';
import { HOLDER_PROOF_HEADER, verifyHolderProof } from '@registo/credentials';
import { CommandRejected, type HolderPresence } from '@registo/producers';
import { isRegistoError } from '@registo/schemas';
import type { ApiActor, ApiTokens } from './tokens.js';

/**
 * The edge half of the holder binding: reads the request's `Registo-Holder-Proof`, checks it
 * (signature by its embedded key, type, age, this method and path) and that it is not a replay;
 * refusals are logged and counted like any other. Whether its key is bound to the holder is the
 * credential decider's rule (`decideHolderAccess`), applied by `authorizeHolder`.
 */
export class HolderProofs {
  /** Proofs seen (jti → until when it could still be replayed), forgotten once they are too old anyway. */
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly tokens: ApiTokens,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async presence(request: FastifyRequest, actor: ApiActor): Promise<HolderPresence> {
    const header = request.headers[HOLDER_PROOF_HEADER];
    if (typeof header !== 'string' || header.length === 0) {
      this.tokens.refuse(request, { code: 'HOLDER_PROOF_REQUIRED', reason: 'HOLDER_PROOF_MISSING', actor }, `the holder channel acts for a holder only with the holder's proof in the ${HOLDER_PROOF_HEADER} header`);
    }
    const now = this.now();
    let proof;
    try {
      proof = await verifyHolderProof(header, { method: request.method, path: request.url.split('?')[0]! }, now);
    } catch (e) {
      if (!isRegistoError(e, 'HOLDER_PROOF_INVALID')) throw e;
      this.tokens.refuse(request, { code: 'HOLDER_PROOF_INVALID', reason: 'HOLDER_PROOF_INVALID', actor }, e.message);
    }
    const seconds = Math.floor(now.getTime() / 1000);
    // Oldest first (insertion order is near enough to expiry order): stop at the first still live.
    for (const [jti, until] of this.seen) {
      if (until >= seconds) break;
      this.seen.delete(jti);
    }
    if (this.seen.has(proof.jti)) this.tokens.refuse(request, { code: 'HOLDER_PROOF_INVALID', reason: 'HOLDER_PROOF_INVALID', actor }, 'this holder proof was used before: sign one per request');
    this.seen.set(proof.jti, proof.expiresAt);
    return { provenUin: proof.uin, publicKeySha256: proof.publicKeySha256 };
  }

  /** Turns the decider's HOLDER_NOT_BOUND into a logged, counted 403; anything else goes on. */
  refuseUnbound(request: FastifyRequest, actor: ApiActor, e: unknown): void {
    if (e instanceof CommandRejected && e.reason === 'HOLDER_NOT_BOUND') {
      this.tokens.refuse(request, { code: 'HOLDER_NOT_BOUND', reason: 'HOLDER_NOT_BOUND', actor }, e.message);
    }
  }
}
