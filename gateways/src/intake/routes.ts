import type { FastifyError, FastifyInstance } from 'fastify';
import { type EventStore, type SubjectSealer, type EnrollmentPacket, type PacketTrust, REG_ID_PATTERN, openPacket, residencyOf } from '@registo/infra';
import {
  CommandRejected,
  type EnrollmentCommand,
  type EnrollmentPersonalData,
  type SigningDevice,
  enrollmentDecider,
  enrollmentStreamId,
  fold,
  handleCommand,
  requireOwnCentre,
  subjectIdFor,
  readStreamOf,
} from '@registo/producers';
import { RegistoError, isRegistoError } from '@registo/schemas';
import type { ApiTokens } from '../auth/tokens.js';
import { sendProblem } from '../http/problem.js';

export interface IntakeDeps {
  store: EventStore;
  sealer: SubjectSealer;
  trust: PacketTrust;
  tokens: ApiTokens;
  /**
   * The intake PUBLIC key as JWK (kty, crv, x, y, kid, alg, use), served at GET /v1/intake/key so
   * registration clients can encrypt to it; in qualified mode its private half is in the token only.
   */
  intakePublicJwk?: Record<string, unknown>;
}

/** What intake checked before accepting a packet (recorded in PacketValidated). */
export const INTAKE_CHECKS = ['decryption', 'signature', 'trust-chain', 'signer-validity', 'schema', 'dates', 'admin-units', 'quality', 'signer-device', 'signer-centre'];

const PACKET_CONTENT_TYPES = ['application/jose', 'application/octet-stream', 'text/plain'];
const DEFAULT_MAX_PACKET_BYTES = 2 * 1024 * 1024;

function personalDataOf(packet: EnrollmentPacket): EnrollmentPersonalData {
  return {
    demographics: packet.demographics,
    documents: packet.documents,
    biometrics: packet.biometrics,
    ...(packet.uin ? { uin: packet.uin } : {}),
  } as EnrollmentPersonalData;
}

/**
 * Decider refusals that are packet verdicts, with their own codes: a different packet under a
 * registration id already used (a conflict, whatever else is wrong with it), and a device
 * filing for a centre other than its own.
 */
const PACKET_VERDICTS = ['PACKET_ID_REUSED', 'PACKET_CENTRE_MISMATCH'] as const;

function packetVerdict(e: unknown, regId: string): RegistoError | null {
  if (!(e instanceof CommandRejected)) return null;
  const code = PACKET_VERDICTS.find((c) => c === e.reason);
  if (code === undefined) return null;
  const { reason: _reason, ...details } = e.details;
  return new RegistoError(code, e.message, { ...details, regId });
}

/** The device that signed an authentic packet, as the packet error reports it. */
/** Refusals that concern the signing device itself: counted with the API's other refusals. */
const DEVICE_REFUSALS = new Set<string>(['PACKET_SIGNER_UNTRUSTED', 'PACKET_SIGNER_EXPIRED', 'PACKET_SIGNER_MISMATCH', 'PACKET_CENTRE_MISMATCH']);

function signingDeviceOf(details: Record<string, unknown>): SigningDevice | null {
  const { deviceId, centreId } = details;
  return typeof deviceId === 'string' && typeof centreId === 'string' ? { deviceId, centreId } : null;
}

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
      let opened: Awaited<ReturnType<typeof openPacket>>;
      try {
        opened = await openPacket(body, deps.trust);
      } catch (e) {
        const details = isRegistoError(e) ? e.details : {};
        const device = signingDeviceOf(details);
        if (isRegistoError(e) && details.authenticated === true && device && typeof details.regId === 'string' && typeof details.packetHash === 'string') {
          // Authentic and naming its id: the refusal is a fact about that registration id
          // (if the id is one the signing device may file under: the decider's call).
          const regId = details.regId;
          const refusal: EnrollmentCommand = {
            type: 'RejectPacket',
            regId,
            code: e.code,
            reason: e.message,
            packetHash: details.packetHash,
            device,
            claimedCentreId: typeof details.claimedCentreId === 'string' ? details.claimedCentreId : null,
          };
          try {
            await handleCommand(deps.store, enrollmentDecider, enrollmentStreamId(regId), refusal, {
              metadata: { correlationId: regId, actor: { id: 'intake', role: 'system' } },
            });
          } catch (inner) {
            throw packetVerdict(inner, regId) ?? inner;
          }
        }
        throw e;
      }
      const { packet, packetHash, signer } = opened;
      const regId = packet.regId;
      const device: SigningDevice = { deviceId: signer.deviceId, centreId: signer.centreId };
      try {
        // The decider holds this rule; asked here too because sealing creates the subject's data
        // key, and a device of another centre must not leave even that behind.
        requireOwnCentre(device, regId, packet.centreId);
      } catch (e) {
        throw packetVerdict(e, regId) ?? e;
      }
      const sealed = await deps.sealer.seal(subjectIdFor(regId), personalDataOf(packet));
      const accept: EnrollmentCommand = {
        type: 'AcceptPacket',
        checks: INTAKE_CHECKS,
        device,
        regId,
        packetType: packet.packetType,
        residency: residencyOf(packet),
        centreId: packet.centreId,
        operatorId: packet.operatorId,
        deviceId: packet.deviceId,
        capturedAt: packet.capture.completedAt,
        packetHash,
        sealed,
      };
      let result;
      try {
        result = await handleCommand(deps.store, enrollmentDecider, enrollmentStreamId(regId), accept, {
          maxRetries: 5,
          metadata: {
            correlationId: regId,
            occurredAt: new Date(packet.capture.completedAt).toISOString(),
            actor: { id: `${packet.operatorId}@${signer.deviceId}`, role: 'registration_operator' },
          },
        });
      } catch (e) {
        throw packetVerdict(e, regId) ?? e;
      }
      if (result.state.status === 'REJECTED' && result.state.rejection) {
        // Refused at the door before (a check that depends on time, like the signer's validity):
        // the same packet keeps the same answer.
        throw new RegistoError('COMMAND_REJECTED', result.state.rejection.reason, { reason: result.state.rejection.code, regId });
      }
      return reply.code(202).send({ regId, packetHash, status: 'ACCEPTED', statusUrl: `/v1/packets/${regId}` });
    });
  });

  app.get<{ Params: { regId: string } }>('/v1/packets/:regId', async (request) => {
    deps.tokens.authorize(request, ['registration_client', 'identity_officer', 'adjudicator', 'operator']);
    const { regId } = request.params;
    if (!REG_ID_PATTERN.test(regId)) throw new RegistoError('REQUEST_INVALID', `not a registration id: ${regId.slice(0, 40)}`);
    const history = await readStreamOf(deps.store, 'enrollment', enrollmentStreamId(regId));
    if (history.length === 0) throw new RegistoError('NOT_FOUND', `no packet ${regId}`, { regId });
    const state = fold(enrollmentDecider, history);
    return {
      regId,
      status: state.status,
      packetType: state.packetType,
      residency: state.residency,
      packetHash: state.packetHash,
      uin: state.uin,
      rejection: state.rejection,
      openAdjudication: state.openAdjudication,
      timeline: history.map((e) => ({ position: e.position, type: e.type, at: e.metadata.recordedAt, actor: e.metadata.actor })),
    };
  });
}
