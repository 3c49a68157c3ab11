/**
 * What an enrollment seals under the subject's data key (DESIGN §4): everything personal in
 * the packet. Events carry it only as `sealed`; the process opens it to ask SIGA, Immigration
 * and the ABIS, and re-seals the identity record from it.
 */
export interface EnrollmentDemographics {
  givenNames: string;
  surname: string;
  dateOfBirth: string;
  sex: 'M' | 'F';
  nationality: string;
  address: { district: string; locality: string; line?: string };
  placeOfBirth?: string;
  motherName?: string;
  fatherName?: string;
  civilRegistryNumber?: string;
  residencePermitNumber?: string;
}

export interface BiometricSample {
  modality: 'FINGER' | 'FACE' | 'IRIS';
  position: string;
  format: string;
  template: string;
  quality: number;
}

export interface EnrollmentPersonalData {
  demographics: EnrollmentDemographics;
  documents: Array<{ type: string; reference: string; sha256: string }>;
  biometrics: BiometricSample[];
  /** The identity the packet is about, when its type names one (packet-rules.ts: every type but NEW). */
  uin?: string;
}

/** The identity record sealed into IdentityCreated / IdentityUpdated: who the person is, not how they were captured. */
export interface IdentityRecord {
  demographics: EnrollmentDemographics;
  /** Modalities and positions enrolled in the ABIS (the templates themselves stay there). */
  biometrics: Array<{ modality: string; position: string }>;
  documents: Array<{ type: string; reference: string; sha256: string }>;
}

/**
 * A person's data is sealed under one subject, named after the enrollment that first
 * brought them in; the identity created from it keeps that subject, so erasing the identity
 * destroys the key that opens the enrollment's copy too.
 */
export const subjectIdFor = (regId: string): string => `subject-${regId}`;

export function identityRecordOf(data: EnrollmentPersonalData): IdentityRecord {
  return {
    demographics: data.demographics,
    biometrics: data.biometrics.map((b) => ({ modality: b.modality, position: b.position })),
    documents: data.documents,
  };
}

/** The demographic fields an update packet changes (those present in it that differ). */
export function changedFields(before: EnrollmentDemographics | null, after: EnrollmentDemographics): string[] {
  return (Object.keys(after) as Array<keyof EnrollmentDemographics>).filter(
    (k) => JSON.stringify(before?.[k]) !== JSON.stringify(after[k]),
  );
}
