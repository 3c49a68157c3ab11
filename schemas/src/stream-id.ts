import { RegistoError } from './errors.js';

/** Stream categories known to the platform (DESIGN §2). */
export const CATEGORIES = ['enrollment', 'identity', 'credential', 'sync', 'access', 'audit', 'trust'] as const;
export type Category = (typeof CATEGORIES)[number];

// `<category>-<id>`: the id may itself contain dashes (UUIDs), so split at the first one.
const STREAM_ID = /^([a-z][a-z0-9]{1,31})-([A-Za-z0-9][A-Za-z0-9._:-]{0,199})$/;

export interface ParsedStreamId {
  streamId: string;
  category: Category;
  id: string;
}

export function parseStreamId(streamId: unknown): ParsedStreamId {
  if (typeof streamId !== 'string') {
    throw new RegistoError('STREAM_ID_INVALID', 'stream id must be a string', { streamId: String(streamId) });
  }
  const m = STREAM_ID.exec(streamId);
  if (!m) {
    throw new RegistoError('STREAM_ID_INVALID', `stream id '${streamId}' is not '<category>-<id>'`, { streamId });
  }
  const category = m[1] as Category;
  if (!(CATEGORIES as readonly string[]).includes(category)) {
    throw new RegistoError('STREAM_ID_INVALID', `stream id '${streamId}' has unknown category '${category}'`, {
      streamId,
      knownCategories: [...CATEGORIES],
    });
  }
  return { streamId, category, id: m[2]! };
}
