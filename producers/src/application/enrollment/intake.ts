import type { EventStore } from '@registo/event-store';
import type { SubjectSealer } from '@registo/crypto';
import { type EnrollmentPacket, type OpenedPacket, type PacketTrust, openPacket } from '@registo/packets';
import { RegistoError, isRegistoError } from '@registo/schemas';
import { CommandRejected } from '../../decider.js';
import { type SigningDevice, OWN_CENTRE_CHECK, requireOwnCentre } from '../../enrollment/device-centre.js';
import { packetContentIssues, residencyOfNationality } from '../../enrollment/packet-rules.js';
import { type EnrollmentPersonalData, subjectIdFor } from '../../enrollment/personal-data.js';
import { enrollmentHandler } from '../handlers.js';

export interface IntakeDeps {
  store: EventStore;
  sealer: SubjectSealer;
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
export function signingDeviceOf(details: Record<string, unknown>): SigningDevice | null {
  const { deviceId, centreId } = details;
  return typeof deviceId === 'string' && typeof centreId === 'string' ? { deviceId, centreId } : null;
}

function personalDataOf(packet: EnrollmentPacket): EnrollmentPersonalData {
  return {
    demographics: packet.demographics,
    documents: packet.documents,
    biometrics: packet.biometrics,
    ...(packet.uin ? { uin: packet.uin } : {}),
  };
}

/** Opens an uploaded packet (infra's openPacket), judging its content by the register's packet rules. */
export function openEnrollmentPacket(body: string | Uint8Array, trust: PacketTrust): Promise<OpenedPacket> {
  return openPacket(body, { ...trust, contentRules: packetContentIssues });
}

/**
 * A packet `openEnrollmentPacket` refused. Authentic and naming its id, the refusal is a fact about that
 * registration id and is recorded (if the id is one the signing device may file under: the
 * decider's call, which may answer with a packet verdict of its own, thrown instead). Anything
 * else writes nothing. The caller answers with the refusal either way.
 */
export async function recordPacketRefusal(deps: Pick<IntakeDeps, 'store'>, e: unknown): Promise<void> {
  if (!isRegistoError(e)) return;
  const details = e.details;
  const device = signingDeviceOf(details);
  if (details.authenticated !== true || !device || typeof details.regId !== 'string' || typeof details.packetHash !== 'string') return;
  const regId = details.regId;
  const claimedCentreId = typeof details.claimedCentreId === 'string' ? details.claimedCentreId : null;
  try {
    await enrollmentHandler(
      deps.store,
      regId,
      { type: 'RejectPacket', regId, code: e.code, reason: e.message, packetHash: details.packetHash, device, claimedCentreId },
      { metadata: { correlationId: regId, actor: { id: 'intake', role: 'system' } } },
    );
  } catch (inner) {
    throw packetVerdict(inner, regId) ?? inner;
  }
}

/**
 * An opened packet becomes EnrollmentSubmitted + PacketValidated, once: the same packet again
 * gets the same answer (its earlier refusal too), another packet under its id PACKET_ID_REUSED.
 */
export async function acceptPacket(deps: IntakeDeps, opened: OpenedPacket): Promise<{ regId: string; packetHash: string }> {
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
  let result;
  try {
    result = await enrollmentHandler(
      deps.store,
      regId,
      {
        type: 'AcceptPacket',
        checks: [...opened.checks, OWN_CENTRE_CHECK],
        device,
        regId,
        packetType: packet.packetType,
        residency: residencyOfNationality(packet.demographics.nationality),
        centreId: packet.centreId,
        operatorId: packet.operatorId,
        deviceId: packet.deviceId,
        capturedAt: packet.capture.completedAt,
        packetHash,
        sealed,
      },
      {
        maxRetries: 5,
        metadata: {
          correlationId: regId,
          occurredAt: new Date(packet.capture.completedAt).toISOString(),
          actor: { id: `${packet.operatorId}@${signer.deviceId}`, role: 'registration_operator' },
        },
      },
    );
  } catch (e) {
    throw packetVerdict(e, regId) ?? e;
  }
  if (result.state.status === 'REJECTED' && result.state.rejection) {
    // Refused at the door before (a check that depends on time, like the signer's validity):
    // the same packet keeps the same answer.
    throw new RegistoError('COMMAND_REJECTED', result.state.rejection.reason, { reason: result.state.rejection.code, regId });
  }
  return { regId, packetHash };
}
