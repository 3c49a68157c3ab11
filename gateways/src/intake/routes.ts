import type { FastifyError, FastifyInstance } from 'fastify';
import type { EventStore, SqlDriver } from '@registo/event-store';
import type { SubjectSealer } from '@registo/crypto';
import { DEFAULT_MAX_PACKET_BYTES, type OpenedPacket, type PacketTrust, REG_ID_PATTERN } from '@registo/packets';
import { acceptPacket, openEnrollmentPacket, recordPacketRefusal, signingDeviceOf } from '@registo/producers';
import { type EnrollmentStatusRow, currentEnrollmentStatus } from '@registo/projections';
import { RegistoError, isRegistoError } from '@registo/schemas';
import type { ApiTokens } from '../auth/tokens.js';
import { sendProblem } from '../http/problem.js';

export interface IntakeDeps {
  store: EventStore;
  sealer: SubjectSealer;
  trust: PacketTrust;
  tokens: ApiTokens;
  /**
   * Where the `enrollment_status` read model is (the platform's SQL database): GET
   * /v1/packets/{regId} answers from it. Without it the answer is folded from the store alone.
   */
  db?: SqlDriver;
  /**
   * The intake PUBLIC key as JWK (kty, crv, x, y, kid, alg, use), served at GET /v1/intake/key so
   * registration clients can encrypt to it; in qualified mode its private half is in the token only.
   */
  intakePublicJwk?: Record<string, unknown>;
}

/** Refusals that concern the signing device itself: counted with the API's other refusals. */
const DEVICE_REFUSALS = new Set<string>(['PACKET_SIGNER_UNTRUSTED', 'PACKET_SIGNER_EXPIRED', 'PACKET_SIGNER_MISMATCH', 'PACKET_CENTRE_MISMATCH']);

/**
 * gateways/intake: registration clients upload packets (JWE over a JWS, DESIGN §1 and
 * docs/packets.md). Everything is checked at the door so the client learns the verdict in
 * the upload's answer. An inauthentic packet writes nothing; an authentic one that fails a
 * check writes one PacketRejected; a good one writes EnrollmentSubmitted + PacketValidated,
 * once: the same packet again gets the same answer, another packet under its id a 409.
 */
export function registerIntakeRoutes(app: FastifyInstance, deps: IntakeDeps): void {
  const maxBytes = deps.trust.maxBytes ?? DEFAULT_MAX_PACKET_BYTES;

  if (deps.intakePublicJwk) {
    const jwk = deps.intakePublicJwk;
    // Public by nature: no token needed to learn where to encrypt packets to.
    app.get('/v1/intake/key', async (_request, reply) => reply.header('cache-control', 'public, max-age=300').send(jwk));
  }

  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'string', bodyLimit: maxBytes + 1024 }, (_req, body, done) => done(null, body));
    scope.setErrorHandler((error: FastifyError, request, reply) => {
      // A device the platform does not trust, or one speaking for another centre, is refused
      // like a bad token: logged and counted (the device, never the packet's content).
      if (isRegistoError(error) && DEVICE_REFUSALS.has(error.code)) {
        const device = signingDeviceOf(error.details);
        deps.tokens.refusals.record(request, { code: error.code, reason: error.code === 'PACKET_CENTRE_MISMATCH' ? 'DEVICE_OTHER_CENTRE' : 'DEVICE_NOT_TRUSTED', actor: device ? { id: device.deviceId, role: 'registration_device' } : null });
      }
      // Only the body is the packet: a bad URL or query is refused like on any other route.
      if (isRegistoError(error) || (error.statusCode ?? 500) >= 500 || !error.code?.startsWith('FST_ERR_CTP')) return sendProblem(reply, request, error);
      // Fastify refused the body before our checks ran: say it in the packet vocabulary.
      const tooLarge = error.code === 'FST_ERR_CTP_BODY_TOO_LARGE';
      return sendProblem(reply, request, new RegistoError(tooLarge ? 'PACKET_TOO_LARGE' : 'PACKET_MALFORMED', tooLarge ? `a packet may be at most ${maxBytes} bytes` : error.message));
    });

    scope.post('/v1/packets', async (request, reply) => {
      const body = typeof request.body === 'string' ? request.body : '';
      let opened: OpenedPacket;
      try {
        opened = await openEnrollmentPacket(body, deps.trust);
      } catch (e) {
        await recordPacketRefusal(deps, e);
        throw e;
      }
      const { regId, packetHash } = await acceptPacket(deps, opened);
      return reply.code(202).send({ regId, packetHash, status: 'ACCEPTED', statusUrl: `/v1/packets/${regId}` });
    });
  });

  app.get<{ Params: { regId: string } }>('/v1/packets/:regId', async (request) => {
    deps.tokens.authorize(request, ['registration_client', 'identity_officer', 'adjudicator', 'operator']);
    const { regId } = request.params;
    if (!REG_ID_PATTERN.test(regId)) throw new RegistoError('REQUEST_INVALID', `not a registration id: ${regId.slice(0, 40)}`);
    const row = await currentEnrollmentStatus(deps.store, deps.db ?? null, regId);
    if (!row) throw new RegistoError('NOT_FOUND', `no packet ${regId}`, { regId });
    return packetView(row);
  });
}

/** What the API says of an enrollment. The read model tells CHECKING apart; the API keeps the enrollment's own vocabulary, where an enrollment under external checks is VALIDATED. */
function packetView(row: EnrollmentStatusRow) {
  return {
    regId: row.regId,
    status: row.status === 'CHECKING' ? 'VALIDATED' : row.status,
    packetType: row.packetType,
    residency: row.residency,
    packetHash: row.packetHash,
    uin: row.uin,
    rejection: row.rejectionCode === null ? null : { code: row.rejectionCode, reason: row.rejectionReason },
    openAdjudication: row.openAdjudication,
    timeline: row.timeline.map((t) => ({ position: t.position, type: t.type, at: t.at, actor: t.actor })),
  };
}
