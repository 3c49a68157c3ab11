/**
 * The error taxonomy shared by every package. Each error has a stable `code` that clients
 * may switch on, an HTTP status for the gateways, and structured `details` for logs and
 * problem+json bodies. Codes never change meaning once published; add new ones instead.
 */
export const ErrorCodes = {
  STREAM_ID_INVALID: 400,
  EVENT_TYPE_UNKNOWN: 400,
  EVENT_TYPE_CATEGORY_MISMATCH: 400,
  EVENT_DATA_INVALID: 400,
  EVENT_METADATA_INVALID: 400,
  EVENT_TOO_LARGE: 413,
  EVENT_ID_INVALID: 400,
  EVENT_ID_DUPLICATED_IN_APPEND: 400,
  EVENT_ID_REUSED: 409,
  APPEND_EMPTY: 400,
  EXPECTED_REVISION_INVALID: 400,
  WRONG_EXPECTED_REVISION: 409,
  EVENT_INTEGRITY_VIOLATION: 500,
  /** A typed read found a stored event that is not of the category it reads (another type, or data its schema refuses). */
  EVENT_NOT_OF_CATEGORY: 500,
  STORE_UNAVAILABLE: 503,
  STORE_CLOSED: 503,
  /** A supervised worker (projector, process, sync, mirror, …) is down and being restarted. */
  WORKER_DOWN: 503,
  COMMAND_REJECTED: 422,
  COMMAND_RETRIES_EXHAUSTED: 409,
  CONFIG_INVALID: 500,
  /** The certificates in the trust folder name another public URL than the configured one (start refuses). */
  PUBLIC_URL_MISMATCH: 500,
  /** An embedded data directory is held by another process (named in the details). */
  DATA_DIR_LOCKED: 409,
  /** The mirror's Kafka checkpoint belongs to another store (beyond the head, or another event there). */
  MIRROR_CHECKPOINT_FOREIGN: 409,
  /** A Kafka consumer group's committed offsets belong to another store (they name it, or follow events this store does not hold). */
  CONSUMER_OFFSETS_FOREIGN: 409,
  /** A Kafka consumer received a message that another store published (its `store-id` header names that store). */
  TOPIC_EVENTS_FOREIGN: 409,
  /** An embedded data directory cannot be created, written or opened (details name the cause). */
  DATA_DIR_UNUSABLE: 500,
  /** A simulator's state journal (`<dataDir>/simulators/*.jsonl`) has a line it cannot read: start-up stops, naming the file and line. */
  SIMULATOR_STATE_UNREADABLE: 500,
  SCHEMA_INCOMPATIBLE: 400,
  NOT_FOUND: 404,
  READ_OPTIONS_INVALID: 400,
  SUBJECT_KEY_DESTROYED: 410,
  SUBJECT_KEY_UNAVAILABLE: 500,
  /** Start-up: the stored data keys do not unwrap under the configured KEK (another key file than the database's). */
  KEK_MISMATCH: 500,
  /** `registo reset`: the PostgreSQL database has other sessions (a running platform); stop it first. */
  DATABASE_IN_USE: 409,
  SEALED_DATA_INVALID: 400,
  /** The PKCS#11 token (HSM) stopped answering, or the signer / key wrapper using it was closed. */
  HSM_UNAVAILABLE: 503,
  /** An external system (SIGA, immigration) timed out, failed (5xx), is down or unreachable; retryable. */
  EXTERNAL_UNAVAILABLE: 503,
  /** Erasure: the subject keys are destroyed and the erasure recorded, but the ABIS did not confirm removing the templates; repeat it. */
  ERASURE_INCOMPLETE: 503,
  /** A client command (`demo`, `audit verify`, `erase`, `sync`, `reconcile`) found nothing answering at the platform's URL. */
  PLATFORM_UNREACHABLE: 503,
  /** An external system answered with something that is not the documented reply. */
  EXTERNAL_REPLY_INVALID: 502,
  /** An external system refused the request (4xx other than not-found): retrying will not help. */
  EXTERNAL_REJECTED: 502,
  // Enrollment packets (gateways/intake). Refused at the door: nothing is written unless the
  // packet is authentic and names its registration id, and then only a PacketRejected.
  /** Not a JWE compact serialization, truncated, or not JSON inside. */
  PACKET_MALFORMED: 400,
  PACKET_TOO_LARGE: 413,
  /** Not encrypted to the platform's intake key (or the ciphertext was altered). */
  PACKET_DECRYPTION_FAILED: 400,
  /** The JWS signature does not verify with the signer certificate's key. */
  PACKET_SIGNATURE_INVALID: 400,
  /** The signer certificate does not chain to a registration-client CA the platform trusts. */
  PACKET_SIGNER_UNTRUSTED: 403,
  /** The signer certificate was not valid at the time of signing (expired or not yet valid). */
  PACKET_SIGNER_EXPIRED: 403,
  /** The packet names a device other than the one its certificate was issued to. */
  PACKET_SIGNER_MISMATCH: 403,
  /** The packet (its centreId or its registration id's centre part) speaks for a centre other than the signer certificate's. */
  PACKET_CENTRE_MISMATCH: 403,
  /** The registration id's date part is not a real instant, or lies before the signer was certified or in the future. */
  PACKET_REG_ID_IMPLAUSIBLE: 422,
  /** The capture started before the signer certificate existed. */
  PACKET_CAPTURED_BEFORE_CERTIFICATE: 422,
  /** The packet content does not match the packet schema. */
  PACKET_SCHEMA_INVALID: 422,
  /** A date that cannot be: not a calendar date, in the future, before capture, ... */
  PACKET_IMPOSSIBLE_DATE: 422,
  /** An address in an administrative unit São Tomé and Príncipe does not have. */
  PACKET_UNKNOWN_ADMIN_UNIT: 422,
  /** Biometric capture below the quality threshold. */
  PACKET_QUALITY_TOO_LOW: 422,
  /** The registration id was already used by a different packet. */
  PACKET_ID_REUSED: 409,
  /** Missing or unknown bearer token. */
  UNAUTHENTICATED: 401,
  /** The caller's role does not allow this. */
  FORBIDDEN: 403,
  /** A well-known development token on a connection that is not from this machine (loopback). */
  DEVELOPMENT_TOKEN_REMOTE: 401,
  /** A holder-channel request without the holder's proof (the `Registo-Holder-Proof` header). */
  HOLDER_PROOF_REQUIRED: 401,
  /** A holder proof that is not an ES256 JWS by its embedded key, or names another request, holder or time. */
  HOLDER_PROOF_INVALID: 401,
  /** The holder proof's key is not bound to that holder (no active holder certificate of the UIN for that key). */
  HOLDER_NOT_BOUND: 403,
  /** A request body or parameter that the API does not accept. */
  REQUEST_INVALID: 400,
  /** The URL itself cannot be read (bad percent-encoding, a path segment over the limit). */
  REQUEST_URL_INVALID: 400,
  /** The body is longer than the route accepts. */
  REQUEST_TOO_LARGE: 413,
  /** The body's Content-Type is not one the route reads. */
  MEDIA_TYPE_UNSUPPORTED: 415,
  // Credentials (gateways/credentials, infra/credentials).
  /** Not a compact JWS/JWT, or its header or payload is not the JSON of a credential. */
  CREDENTIAL_MALFORMED: 400,
  /** A QR payload that is not `RGV1:` + Base45(zlib(JWT)). */
  CREDENTIAL_QR_INVALID: 400,
  /** Dual control: the person who requested a status change tried to approve it too. */
  DUAL_CONTROL_VIOLATION: 403,
  // Audit (docs/audit.md).
  /** The stored Merkle tree disagrees with itself, the log or a signed checkpoint: nothing is signed. */
  AUDIT_TREE_INCONSISTENT: 500,
  /** A tree size or position outside the tree (or a first size above the second). */
  AUDIT_TREE_SIZE_INVALID: 400,
  /** No checkpoint has been signed yet (or none in the range asked). */
  AUDIT_NO_CHECKPOINT: 404,
  /** A checkpoint or signed note that is not in the C2SP format. */
  AUDIT_NOTE_INVALID: 400,
  /** An audit export that cannot be read (not NDJSON, no header, a line of unknown kind). */
  AUDIT_EXPORT_INVALID: 400,
  /** A witness cosignature from an unknown witness, malformed, or whose signature does not verify. */
  AUDIT_COSIGNATURE_INVALID: 400,
  /** Offline verification found the log altered, incomplete or its checkpoints wrong; names the first position. */
  AUDIT_VERIFICATION_FAILED: 422,
  /** The configured audit origin differs from the one the log was pinned to (or its checkpoint chain carries). */
  AUDIT_ORIGIN_CHANGED: 500,
  // External sync (consumers/sync, docs/sync.md).
  /** The identity's subject key was destroyed (erasure): the agreed fields cannot be opened, so nothing is sent. */
  SYNC_SUBJECT_ERASED: 410,
  /** The identity record lacks a value the integration agreement requires (e.g. no civil-registry number). */
  SYNC_DATA_MISSING: 422,
  /** A webhook from SIGA or Immigration whose signature does not verify with the integration's secret. */
  WEBHOOK_SIGNATURE_INVALID: 401,
  // Holder certificate requests (PKCS#10 CSRs, infra/trust/src/csr.ts).
  /** Not a DER PKCS#10 CertificationRequest (truncated, trailing bytes, wrong structure, not a point on the curve). */
  CSR_MALFORMED: 400,
  /** The CSR's self-signature does not verify: no proof of possession of the key. */
  CSR_SIGNATURE_INVALID: 400,
  /** The CSR's key is not an EC key (RSA, Ed25519, …): only ECDSA P-256 keys are certified. */
  CSR_KEY_UNSUPPORTED: 422,
  /** The CSR's key is EC on a curve other than P-256 (or with explicit curve parameters). */
  CSR_CURVE_UNSUPPORTED: 422,
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

export class RegistoError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = 'RegistoError';
    this.code = code;
    this.status = ErrorCodes[code];
    this.details = details;
  }

  toJSON(): Record<string, unknown> {
    return { code: this.code, message: this.message, ...this.details };
  }
}

/** Optimistic concurrency failed: the stream is not where the caller expected it to be. */
export class WrongExpectedRevisionError extends RegistoError {
  readonly streamId: string;
  readonly expected: string;
  readonly actual: number | 'no_stream';

  constructor(streamId: string, expected: string, actual: number | 'no_stream') {
    super('WRONG_EXPECTED_REVISION', `stream ${streamId}: expected revision ${expected}, actual ${actual}`, {
      streamId,
      expected,
      actual,
    });
    this.name = 'WrongExpectedRevisionError';
    this.streamId = streamId;
    this.expected = expected;
    this.actual = actual;
  }
}

/** A stored event no longer matches its hash: storage was changed behind the store's back. */
export class IntegrityError extends RegistoError {
  readonly position: number;

  constructor(position: number, eventId: string, stored: string, computed: string) {
    super('EVENT_INTEGRITY_VIOLATION', `event at position ${position} (${eventId}) does not match its hash`, {
      position,
      eventId,
      storedHash: stored,
      computedHash: computed,
    });
    this.name = 'IntegrityError';
    this.position = position;
  }
}

export function isRegistoError(e: unknown, code?: ErrorCode): e is RegistoError {
  return e instanceof RegistoError && (code === undefined || e.code === code);
}
