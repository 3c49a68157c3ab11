import type { FastifyInstance } from 'fastify';
import { PRINT_AGREEMENT_ATTRIBUTES, pickAttributes, toQrPayload } from '@registo/credentials';
import { type SealedCredential, isPrintable } from '@registo/producers';
import { listCredentialsIssuedAfter } from '@registo/projections';
import { RegistoError, isRegistoError } from '@registo/schemas';
import { WHOLE_NUMBER, querySchema } from '../http/request-schema.js';
import type { CredentialRouteContext } from './context.js';

/** The print bureau's feed: the cards issued after a cursor, with the attributes the print agreement lists. */
export function registerPrintOrderRoutes(app: FastifyInstance, { deps, mode, guard }: CredentialRouteContext): void {
  app.get<{ Querystring: { after?: string; limit?: string } }>('/v1/print-orders', { schema: { querystring: querySchema({ after: { pattern: WHOLE_NUMBER }, limit: { pattern: WHOLE_NUMBER } }) }, ...guard(['print_bureau']) }, async (request, reply) => {
    deps.tokens.authorize(request, ['print_bureau']);
    const after = Number(request.query.after ?? 0);
    const limit = Number(request.query.limit ?? 100);
    if (!Number.isSafeInteger(after) || after < 0) throw new RegistoError('REQUEST_INVALID', 'after is a non-negative integer cursor');
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) throw new RegistoError('REQUEST_INVALID', 'limit is 1..1000');
    const rows = await listCredentialsIssuedAfter(deps.db, after, limit, 'VC_JWT');
    const lines: string[] = [];
    for (const row of rows) {
      // Only cards that are still good are printed; an erased holder's data cannot be opened.
      if (!isPrintable(row)) continue;
      let opened: SealedCredential;
      try {
        opened = await deps.sealer.open<SealedCredential>(row.sealed);
      } catch (e) {
        if (isRegistoError(e, 'SUBJECT_KEY_DESTROYED')) continue;
        throw e;
      }
      lines.push(
        JSON.stringify({
          cursor: row.issuedPosition,
          credentialId: row.credentialId,
          credentialType: row.credentialType,
          ...pickAttributes(PRINT_AGREEMENT_ATTRIBUTES, opened.claims),
          issuedAt: row.issuedAt,
          expiresAt: row.expiresAt,
          qr: toQrPayload(opened.credential),
          signerMode: row.signerMode,
        }),
      );
    }
    const next = rows.length > 0 ? rows[rows.length - 1]!.issuedPosition : after;
    reply.header('registo-next-cursor', String(next)).header('registo-signer-mode', mode);
    return reply.type('application/x-ndjson').send(lines.map((l) => `${l}\n`).join(''));
  });
}
