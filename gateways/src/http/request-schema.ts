import type { Plugin } from 'ajv';
import type { SchemaValidateFunction } from 'ajv/dist/types/index.js';
import type { FastifySchema } from 'fastify';
import { type TextKind, checkText } from '@registo/base';

/**
 * What every route's request must look like before its handler runs, in one place: each route
 * declares one query-parameter schema (or takes none), path parameters are printable ASCII, and
 * free text in bodies passes the shared text check. Values are strings as sent (the app's
 * validator does not coerce), so a repeated parameter — which arrives as a list — is refused.
 */

/** A query or path value: printable ASCII, no space, no NUL or other control character. */
export const PRINTABLE = '^[\\x21-\\x7e]+$';
/** A whole number as a query value (cursors, sizes, limits). */
export const WHOLE_NUMBER = '^(0|[1-9][0-9]{0,15})$';

export type QueryParameter = { pattern: string; maxLength?: number } | { enum: readonly string[] };

/** The query-parameter schema of a route: these names, each at most once, nothing else. */
export function querySchema(parameters: Record<string, QueryParameter>): Record<string, unknown> {
  const properties = Object.fromEntries(
    Object.entries(parameters).map(([name, p]) => [name, 'enum' in p ? { type: 'string', enum: [...p.enum] } : { type: 'string', maxLength: p.maxLength ?? 128, pattern: p.pattern }]),
  );
  return { type: 'object', additionalProperties: false, properties };
}

const NO_QUERY = querySchema({});

function paramsSchema(url: string): Record<string, unknown> | undefined {
  const names = [...url.matchAll(/:([A-Za-z0-9_]+)/g)].map((m) => m[1]!);
  if (names.length === 0) return undefined;
  return {
    type: 'object',
    required: names,
    properties: Object.fromEntries(names.map((n) => [n, { type: 'string', minLength: 1, maxLength: 256, pattern: PRINTABLE }])),
  };
}

/**
 * Gives a route the defaults it did not declare: no query parameters at all, and printable path
 * parameters. Wildcard routes (`/ocsp/*`) read their rest of the path themselves.
 */
export function withRequestDefaults(route: { url: string; schema?: FastifySchema }): void {
  const schema = { ...(route.schema ?? {}) };
  schema.querystring ??= NO_QUERY;
  const params = paramsSchema(route.url);
  if (params) schema.params ??= params;
  route.schema = schema;
}

/**
 * The `textKind` schema keyword: `{ type: 'string', textKind: 'free' }` puts a body field through
 * the shared text check (NFC, then the kind's characters) and hands the handler the NFC form.
 */
export const textKeyword: Plugin<unknown> = (ajv) => {
  const validate: SchemaValidateFunction = function (kind: TextKind, data: string, _parentSchema, ctx) {
    const checked = checkText(data, kind);
    if (!checked.ok) {
      validate.errors = [{ keyword: 'textKind', message: checked.message, params: { problem: checked.problem } }];
      return false;
    }
    if (ctx) ctx.parentData[ctx.parentDataProperty] = checked.value;
    return true;
  };
  return ajv.addKeyword({ keyword: 'textKind', type: 'string', schemaType: 'string', modifying: true, errors: true, validate });
};
