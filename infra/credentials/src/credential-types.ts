import type { CredentialKind } from '@registo/schemas';

/**
 * What each credential type may hold. A credential carries only the attributes of its row, picked
 * from what the identity record has; anything else about the person (address, parents, place of
 * birth, civil-registry number, documents, biometrics) never goes into a credential.
 */
export interface CredentialTypeSpec {
  kind: CredentialKind;
  /** The attributes the credential states about its holder, in this order. */
  attributes: readonly string[];
  validityDays: number;
}

export const CREDENTIAL_TYPES = {
  /**
   * The national identity VC: enough for a relying party to tell who the holder is (name, date
   * of birth, sex for matching a document photo's holder) and by which number, and whether they
   * are a citizen or a resident foreigner. Nothing that locates or relates the person.
   */
  NationalIdentityCredential: {
    kind: 'VC_JWT',
    attributes: ['uin', 'givenNames', 'surname', 'dateOfBirth', 'sex', 'nationality', 'residency'],
    validityDays: 5 * 365,
  },
  /** The holder's authentication certificate (card chip, wallet): the subject names the UIN only. */
  HolderAuthenticationCertificate: { kind: 'X509', attributes: ['uin'], validityDays: 3 * 365 },
} as const satisfies Record<string, CredentialTypeSpec>;

export type CredentialType = keyof typeof CREDENTIAL_TYPES;

/**
 * What the print bureau's agreement lets it see of a newly issued card: the printed fields and
 * the QR code (which is the VC itself, so it holds no more than the VC's own attributes).
 */
export const PRINT_AGREEMENT_ATTRIBUTES = ['uin', 'givenNames', 'surname', 'dateOfBirth', 'sex', 'nationality'] as const;

/** Picks the attributes `type` allows from `source`, in the table's order; missing ones are left out. */
export function pickAttributes(allowed: readonly string[], source: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of allowed) {
    const v = source[name];
    if (typeof v === 'string' && v.length > 0) out[name] = v;
  }
  return out;
}

export function claimsFor(type: CredentialType, source: Record<string, unknown>): Record<string, string> {
  return pickAttributes(CREDENTIAL_TYPES[type].attributes, source);
}
