import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { RegistoError } from '@registo/schemas';

/** RFC 9457 problem details; `code` is the stable RegistoError code clients switch on. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  instance?: string;
  [extension: string]: unknown;
}

export const PROBLEM_TYPE_BASE = 'https://registo.st/problems/';

export function toProblem(error: unknown, instance?: string): Problem {
  if (error instanceof RegistoError) {
    // Details first: a detail named like a standard member (a decider's `status`) must not replace it.
    return {
      ...error.details,
      type: `${PROBLEM_TYPE_BASE}${error.code.toLowerCase().replaceAll('_', '-')}`,
      title: error.code,
      status: error.status,
      detail: error.message,
      code: error.code,
      ...(instance ? { instance } : {}),
    };
  }
  const fe = error as Partial<FastifyError>;
  if (typeof fe.statusCode === 'number' && fe.statusCode < 500) {
    // Bodies the framework could not parse or validate are the caller's mistake, with one code.
    const code = fe.validation || fe.code?.startsWith('FST_ERR_CTP') ? 'REQUEST_INVALID' : (fe.code ?? 'BAD_REQUEST');
    return {
      type: `${PROBLEM_TYPE_BASE}${code.toLowerCase().replaceAll('_', '-')}`,
      title: code,
      status: fe.statusCode,
      detail: fe.message ?? 'bad request',
      code,
      ...(instance ? { instance } : {}),
    };
  }
  return {
    type: `${PROBLEM_TYPE_BASE}internal`,
    title: 'INTERNAL',
    status: 500,
    detail: 'internal error; the request id is in the logs',
    code: 'INTERNAL',
    ...(instance ? { instance } : {}),
  };
}

export function sendProblem(reply: FastifyReply, request: FastifyRequest, error: unknown): FastifyReply {
  const problem = toProblem(error, request.url);
  if (problem.status >= 500) request.log.error({ err: error }, 'request failed');
  // An outage (store or broker away) is worth retrying: say when.
  if (problem.status === 503) reply.header('retry-after', '5');
  return reply.code(problem.status).type('application/problem+json').send(problem);
}
