/**
 * Tiny hand-written checks for external replies: each returns the problems found, so a
 * malformed reply turns into a typed error listing them rather than a crash further on.
 */

export type Problems = string[];

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function requireString(record: Record<string, unknown>, field: string, problems: Problems, prefix = ''): void {
  if (typeof record[field] !== 'string') problems.push(`${prefix}${field} must be a string`);
}

export function requireOneOf(
  record: Record<string, unknown>,
  field: string,
  allowed: readonly string[],
  problems: Problems,
  prefix = '',
): void {
  if (!allowed.includes(record[field] as string)) problems.push(`${prefix}${field} must be one of ${allowed.join(', ')}`);
}

export function requireDate(record: Record<string, unknown>, field: string, problems: Problems, prefix = ''): void {
  const value = record[field];
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(value)) problems.push(`${prefix}${field} must be a YYYY-MM-DD date`);
}

export function requireStringList(record: Record<string, unknown>, field: string, problems: Problems): void {
  const value = record[field];
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) problems.push(`${field} must be a list of strings`);
}

export function requireBoolean(record: Record<string, unknown>, field: string, problems: Problems): void {
  if (typeof record[field] !== 'boolean') problems.push(`${field} must be a boolean`);
}
