import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { loggableError } from '@registo/base';
import { type ErrorCode, RegistoError } from '@registo/schemas';

/** RFC 9457 problem details; `code` is the stable RegistoError code clients switch on. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  /** The id the server logged this request under: what a caller quotes to an operator. */
  requestId?: string;
  instance?: string;
  [extension: string]: unknown;
}

export const PROBLEM_TYPE_BASE = 'https://registo.st/problems/';

/**
 * Every refusal the framework makes before a route runs, in the platform's vocabulary: one
 * stable code per kind of fault, so no caller ever sees a FST_ERR_* code or a framework shape.
 */
const FRAMEWORK_CODES: ReadonlyArray<[test: (code: string) => boolean, code: ErrorCode]> = [
  [(c) => c === 'FST_ERR_BAD_URL' || c === 'FST_ERR_MAX_PARAM_LENGTH' || c === 'FST_ERR_ASYNC_CONSTRAINT', 'REQUEST_URL_INVALID'],
  [(c) => c === 'FST_ERR_CTP_BODY_TOO_LARGE', 'REQUEST_TOO_LARGE'],
  [(c) => c === 'FST_ERR_CTP_INVALID_MEDIA_TYPE', 'MEDIA_TYPE_UNSUPPORTED'],
];

/** The stable code for an error Fastify raised below 500 (bad JSON, schema, content length, …). */
function frameworkCode(error: Partial<FastifyError>): ErrorCode {
  const code = error.code ?? '';
  return FRAMEWORK_CODES.find(([test]) => test(code))?.[1] ?? 'REQUEST_INVALID';
}

function problemOf(code: string, status: number, detail: string, extra: Record<string, unknown> = {}): Problem {
  return { ...extra, type: `${PROBLEM_TYPE_BASE}${code.toLowerCase().replaceAll('_', '-')}`, title: code, status, detail, code };
}

export function toProblem(error: unknown, instance?: string, requestId?: string): Problem {
  const where = { ...(requestId ? { requestId } : {}), ...(instance ? { instance } : {}) };
  if (error instanceof RegistoError) {
    // Details first: a detail named like a standard member (a decider's `status`) must not replace it.
    return { ...problemOf(error.code, error.status, error.message, error.details), ...where };
  }
  const fe = error as Partial<FastifyError>;
  if (typeof fe.statusCode === 'number' && fe.statusCode < 500) {
    const code = frameworkCode(fe);
    // Schema messages name the field and the rule ("querystring/status must be string"), never the value.
    const detail = fe.validation ? `${fe.validationContext ?? 'request'}: ${fe.message ?? 'invalid'}` : (fe.message ?? 'bad request');
    return { ...problemOf(code, code === 'REQUEST_INVALID' ? 400 : fe.statusCode, detail), ...where };
  }
  return { ...problemOf('INTERNAL', 500, 'internal error; the request id is in the logs'), ...where };
}

/** The path without its query: the query may hold what the caller searched for. */
const pathOf = (request: FastifyRequest): string => request.url.split('?')[0]!.slice(0, 200);

export function sendProblem(reply: FastifyReply, request: FastifyRequest, error: unknown): FastifyReply {
  const problem = toProblem(error, pathOf(request), String(request.id));
  // loggableError also where the app's logger was not made by createLogger (its serializer does the same).
  if (problem.status >= 500) request.log.error({ err: loggableError(error), route: request.routeOptions?.url }, 'request failed');
  // An outage (store or broker away) is worth retrying: say when.
  if (problem.status === 503) reply.header('retry-after', '5');
  return reply.code(problem.status).type('application/problem+json').send(problem);
}
