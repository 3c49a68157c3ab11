import type { SqlTx } from '@registo/event-store';

/**
 * The reconciliation report the integration architecture asks for, daily and on demand:
 * syncs pending, failed (with the reason), dead-lettered, succeeded (with timestamps), and
 * the open mismatches. Never personal data: values of personal fields stay sealed.
 */

export interface SyncRow {
  syncId: string;
  system: string;
  direction: string;
  operation: string;
  uin: string | null;
  sourceEventId: string;
  status: string;
  attempts: number;
  redrives: number;
  code: string | null;
  reason: string | null;
  outcome: string | null;
  requestedAt: string;
  succeededAt: string | null;
  lastFailedAt: string | null;
  deadLetteredAt: string | null;
  redrivenAt: string | null;
}

export interface MismatchRow {
  mismatchId: string;
  system: string;
  uin: string;
  field: string;
  kind: string;
  registerValue: string | null;
  externalValue: string | null;
  /** Personal values are sealed under the identity's subject; the report only says so. */
  valuesSealed: boolean;
  proposedRule: string | null;
  status: string;
  foundAt: string;
  resolvedAt: string | null;
  resolution: string | null;
  action: string | null;
  resolvedBy: string | null;
}

export interface SyncReport {
  system: string;
  generatedAt: string;
  totals: { pending: number; failed: number; deadLettered: number; succeeded: number; openMismatches: number; resolvedMismatches: number };
  pending: SyncRow[];
  failed: SyncRow[];
  deadLettered: SyncRow[];
  succeeded: SyncRow[];
  openMismatches: MismatchRow[];
}

const iso = (v: unknown): string | null => (v === null || v === undefined ? null : new Date(v as string).toISOString());

function syncRow(r: Record<string, unknown>): SyncRow {
  return {
    syncId: r.sync_id as string,
    system: r.system as string,
    direction: r.direction as string,
    operation: r.operation as string,
    uin: (r.uin as string) ?? null,
    sourceEventId: r.source_event_id as string,
    status: r.status as string,
    attempts: Number(r.attempts),
    redrives: Number(r.redrives),
    code: (r.last_code as string) ?? null,
    reason: (r.last_reason as string) ?? null,
    outcome: (r.outcome as string) ?? null,
    requestedAt: iso(r.requested_at)!,
    succeededAt: iso(r.succeeded_at),
    lastFailedAt: iso(r.last_failed_at),
    deadLetteredAt: iso(r.dead_lettered_at),
    redrivenAt: iso(r.redriven_at),
  };
}

function mismatchRow(r: Record<string, unknown>): MismatchRow {
  return {
    mismatchId: r.mismatch_id as string,
    system: r.system as string,
    uin: r.uin as string,
    field: r.field as string,
    kind: r.kind as string,
    registerValue: (r.register_value as string) ?? null,
    externalValue: (r.external_value as string) ?? null,
    valuesSealed: r.sealed !== null && r.sealed !== undefined,
    proposedRule: (r.proposed_rule as string) ?? null,
    status: r.status as string,
    foundAt: iso(r.found_at)!,
    resolvedAt: iso(r.resolved_at),
    resolution: (r.resolution as string) ?? null,
    action: (r.action as string) ?? null,
    resolvedBy: (r.resolved_by as string) ?? null,
  };
}

export async function listSyncs(tx: SqlTx, filter: { system?: string; status?: string; syncId?: string } = {}): Promise<SyncRow[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (filter.system) where.push(`system = $${params.push(filter.system)}`);
  if (filter.status) where.push(`status = $${params.push(filter.status)}`);
  if (filter.syncId) where.push(`sync_id = $${params.push(filter.syncId)}`);
  const rows = await tx.query<Record<string, unknown>>(`SELECT * FROM sync_status${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY requested_at, sync_id`, params);
  return rows.map(syncRow);
}

export async function listMismatches(tx: SqlTx, filter: { system?: string; status?: string; mismatchId?: string } = {}): Promise<MismatchRow[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  if (filter.system) where.push(`system = $${params.push(filter.system)}`);
  if (filter.status) where.push(`status = $${params.push(filter.status)}`);
  if (filter.mismatchId) where.push(`mismatch_id = $${params.push(filter.mismatchId)}`);
  const rows = await tx.query<Record<string, unknown>>(`SELECT * FROM sync_mismatches${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY found_at, mismatch_id`, params);
  return rows.map(mismatchRow);
}

export async function syncReport(tx: SqlTx, system: string): Promise<SyncReport> {
  const syncs = await listSyncs(tx, { system });
  const mismatches = await listMismatches(tx, { system });
  const by = (status: string): SyncRow[] => syncs.filter((s) => s.status === status);
  const open = mismatches.filter((m) => m.status === 'OPEN');
  // PENDING: asked for and not attempted yet (or redriven and not attempted again).
  const report: SyncReport = {
    system,
    generatedAt: new Date().toISOString(),
    totals: {
      pending: by('PENDING').length,
      failed: by('FAILED').length,
      deadLettered: by('DEAD_LETTERED').length,
      succeeded: by('SUCCEEDED').length,
      openMismatches: open.length,
      resolvedMismatches: mismatches.length - open.length,
    },
    pending: by('PENDING'),
    failed: by('FAILED'),
    deadLettered: by('DEAD_LETTERED'),
    succeeded: by('SUCCEEDED'),
    openMismatches: open,
  };
  return report;
}

const CSV_COLUMNS = [
  'record', 'id', 'system', 'direction', 'operation', 'uin', 'status', 'attempts', 'redrives', 'code', 'reason',
  'requestedAt', 'succeededAt', 'deadLetteredAt', 'field', 'kind', 'registerValue', 'externalValue', 'valuesSealed', 'proposedRule', 'foundAt',
] as const;

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** RFC 4180 CSV: one row per sync (record = pending|failed|dead_lettered|succeeded) and per open mismatch. */
export function reportCsv(report: SyncReport): string {
  const lines = [CSV_COLUMNS.join(',')];
  const sync = (record: string, s: SyncRow): void => {
    const row: Record<string, unknown> = { record, id: s.syncId, system: s.system, direction: s.direction, operation: s.operation, uin: s.uin, status: s.status, attempts: s.attempts, redrives: s.redrives, code: s.code, reason: s.reason, requestedAt: s.requestedAt, succeededAt: s.succeededAt, deadLetteredAt: s.deadLetteredAt };
    lines.push(CSV_COLUMNS.map((c) => csvCell(row[c])).join(','));
  };
  for (const s of report.pending) sync('pending', s);
  for (const s of report.failed) sync('failed', s);
  for (const s of report.deadLettered) sync('dead_lettered', s);
  for (const s of report.succeeded) sync('succeeded', s);
  for (const m of report.openMismatches) {
    const row: Record<string, unknown> = { record: 'mismatch', id: m.mismatchId, system: m.system, uin: m.uin, status: m.status, field: m.field, kind: m.kind, registerValue: m.registerValue, externalValue: m.externalValue, valuesSealed: m.valuesSealed, proposedRule: m.proposedRule, foundAt: m.foundAt };
    lines.push(CSV_COLUMNS.map((c) => csvCell(row[c])).join(','));
  }
  return `${lines.join('\r\n')}\r\n`;
}
