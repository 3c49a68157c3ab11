/**
 * The administrative units of São Tomé and Príncipe that an address or a place of birth may
 * name: the six districts of São Tomé island and the district of the Autonomous Region of
 * Príncipe (Pagué). Names are matched exactly as spelt here (Unicode NFC, with accents), so that
 * every read model groups people under one spelling.
 */
export type Island = 'São Tomé' | 'Príncipe';

export interface AdminUnit {
  readonly name: string;
  readonly island: Island;
  /** The town where the district administration sits. */
  readonly seat: string;
}

export const STP_ADMIN_UNITS: readonly AdminUnit[] = [
  { name: 'Água Grande', island: 'São Tomé', seat: 'São Tomé' },
  { name: 'Mé-Zóchi', island: 'São Tomé', seat: 'Trindade' },
  { name: 'Cantagalo', island: 'São Tomé', seat: 'Santana' },
  { name: 'Caué', island: 'São Tomé', seat: 'São João dos Angolares' },
  { name: 'Lembá', island: 'São Tomé', seat: 'Neves' },
  { name: 'Lobata', island: 'São Tomé', seat: 'Guadalupe' },
  { name: 'Pagué', island: 'Príncipe', seat: 'Santo António' },
];

export const STP_ADMIN_UNIT_NAMES: readonly string[] = STP_ADMIN_UNITS.map((u) => u.name);

const BY_NAME = new Map(STP_ADMIN_UNITS.map((u) => [u.name, u]));

export function isAdminUnit(name: unknown): name is string {
  return typeof name === 'string' && BY_NAME.has(name);
}

export function adminUnit(name: string): AdminUnit | undefined {
  return BY_NAME.get(name);
}
