// Hand-kept TypeScript mirrors of schemas/avro/common. A test checks every field name and
// enum symbol here against the .avsc files, so the two cannot drift apart silently.
export type Residency = 'CITIZEN' | 'FOREIGNER';
export const RESIDENCIES: readonly Residency[] = ['CITIZEN', 'FOREIGNER'];

export type ExternalSystem = 'SIGA' | 'IMMIGRATION' | 'ABIS';
export const EXTERNAL_SYSTEMS: readonly ExternalSystem[] = ['SIGA', 'IMMIGRATION', 'ABIS'];

export interface SealedData {
  subjectId: string;
  keyVersion: number;
  alg: string;
  iv: string;
  ciphertext: string;
}
