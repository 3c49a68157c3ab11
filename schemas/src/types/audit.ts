// Hand-kept mirrors of schemas/avro/audit (checked against them by schemas/test/catalog.test.ts).
export type CheckpointSignerMode = 'qualified' | 'non_qualified';

export interface AuditEventData {
  CheckpointSigned: {
    origin: string;
    treeSize: number;
    /** Hex RFC 6962 root hash. */
    rootHash: string;
    /** The whole signed note. */
    note: string;
    noteSha256: string;
    previousNoteSha256: string | null;
    keyId: string;
    signerMode: CheckpointSignerMode;
    /** Base64 DER RFC 3161 TimeStampToken over SHA-256(note). */
    timestampToken: string | null;
    signedAt: string;
  };
}

export type AuditEventType = keyof AuditEventData;
