import type { Logger } from '@registo/base';
import type { OutsideWorldHandler } from '@registo/messaging';
import { type CredentialIssuerContext, applyIdentityStatus, issueIdentityCredential } from '@registo/producers';
import { type EventEnvelope, expectEventOf } from '@registo/schemas';

export interface CredentialIssuanceConsumer extends OutsideWorldHandler {
  migrate(): Promise<void>;
}

/**
 * Reads identity events and keeps each holder's credentials in step: a national identity VC for
 * every IdentityCreated / IdentityUpdated (the update's supersedes the one before), and revocation
 * of everything the holder has when the identity becomes DECEASED or BLOCKED or is erased. Runs on
 * `StreamParallelConsumer` (at least once, holders in parallel, one holder's events in order);
 * a redelivery issues and revokes nothing twice (credential ids come from the identity event, and
 * the credential decider does each id once).
 */
export function createCredentialIssuance(ctx: CredentialIssuerContext, logger?: Logger): CredentialIssuanceConsumer {
  return {
    name: 'credential_issuance',
    categories: ['identity'],
    migrate: () => ctx.allocator.migrate(),
    async handle(delivered: EventEnvelope): Promise<void> {
      const event = expectEventOf('identity', delivered);
      switch (event.type) {
        case 'IdentityCreated':
        case 'IdentityUpdated': {
          const outcome = await issueIdentityCredential(ctx, event);
          logger?.debug({ credentialId: outcome.credentialId, issued: outcome.issued, skipped: outcome.skipped }, 'identity credential');
          return;
        }
        case 'IdentityStatusChanged':
        case 'SubjectKeyDestroyed': {
          // Erasure: the sealed credentials are unreadable already (same subject key); revoking
          // them stops a copy the holder still has from verifying as valid.
          const revoked = await applyIdentityStatus(ctx, event);
          if (revoked > 0) logger?.info({ uin: event.data.uin, type: event.type, revoked }, 'identity change revoked its credentials');
          return;
        }
        default:
          return;
      }
    },
  };
}
