import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import type { TimeStampAuthority, TsaFailure } from '@registo/trust';

export interface TsaRouteDeps {
  tsa: TimeStampAuthority;
  /** Largest request accepted (default 16 KiB; a TimeStampReq is about 60 bytes). */
  maxBytes?: number;
}

export const TIMESTAMP_QUERY = 'application/timestamp-query';
export const TIMESTAMP_REPLY = 'application/timestamp-reply';

/**
 * `POST /tsa`: RFC 3161 over HTTP (§3.4). Every answer is a DER TimeStampResp, never
 * problem+json: the protocol's own `rejection` with a PKIFailureInfo says what was wrong. A
 * request that was read answers 200 whatever its status (the status is in the body, as clients
 * expect); a wrong media type, an empty or an oversized body answer 415 / 400 / 413 with a
 * rejection body, so no request gets a 5xx.
 */
export function registerTsaRoutes(app: FastifyInstance, deps: TsaRouteDeps): void {
  const maxBytes = deps.maxBytes ?? 16 * 1024;
  const send = (reply: FastifyReply, status: number, body: Buffer) => reply.code(status).header('content-type', TIMESTAMP_REPLY).header('cache-control', 'no-store').send(body);
  const reject = (reply: FastifyReply, status: number, failure: TsaFailure, text: string) => send(reply, status, deps.tsa.rejection(failure, text));

  app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: maxBytes }, (_req, body, done) => done(null, body));
    scope.setErrorHandler((error: FastifyError, _request, reply) => {
      if (error.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return reject(reply, 413, 'badDataFormat', `a TimeStampReq may be at most ${maxBytes} bytes`);
      if ((error.statusCode ?? 500) < 500) return reject(reply, 400, 'badRequest', error.message);
      return reject(reply, 200, 'systemFailure', 'the time-stamping authority failed to answer');
    });

    scope.post('/tsa', async (request, reply) => {
      const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      if (type !== TIMESTAMP_QUERY) return reject(reply, 415, 'badRequest', `send a DER TimeStampReq as ${TIMESTAMP_QUERY}, not ${type || 'no content type'}`);
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      if (body.length === 0) return reject(reply, 400, 'badDataFormat', 'the request body is empty: send a DER TimeStampReq');
      return send(reply, 200, await deps.tsa.respond(body));
    });
  });
}
