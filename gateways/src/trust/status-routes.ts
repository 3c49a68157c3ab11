import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { decodeBase64Strict } from '@registo/crypto';
import {
  type CertificateStatusSource,
  type CrlName,
  type CrlPublisher,
  MAX_REQUEST_OCTETS,
  OCSP_ERROR_RESPONSES,
  type OcspAnswer,
  OcspResponder,
  type TrustKeys,
} from '@registo/trust';

/*
 * The status services over HTTP, at the URLs signed into the certificates (profiles.ts):
 *   POST /ocsp                  application/ocsp-request → application/ocsp-response (RFC 6960 A.1)
 *   GET  /ocsp/<base64 DER>     the same, URL-encoded base64 in the path, cacheable (RFC 5019)
 *   GET  /crl/identity-ca.crl, /crl/identity-ca-delta.crl, /crl/root-ca.crl   application/pkix-crl
 * OCSP answers every problem in its own protocol (an OCSPResponse status), never problem+json and
 * never a 5xx: a client that asked about a certificate gets an OCSP answer.
 */

export interface TrustStatusRoutesDeps {
  trust: TrustKeys;
  status: CertificateStatusSource;
  crl: CrlPublisher;
  /** The responder to use; made from `trust` and `status` (and closed with the app) if absent. */
  ocsp?: OcspResponder;
}

const OCSP_REQUEST = 'application/ocsp-request';
const OCSP_RESPONSE = 'application/ocsp-response';
/** CRLs change on every revocation: shared caches keep them a minute at most. */
const CRL_MAX_AGE_SECONDS = 60;

/** A header-safe, short form of a problem's description. */
const headerText = (detail: string): string => detail.slice(0, 200).replace(/[^\x20-\x7e]/g, '?');

function sendOcsp(reply: FastifyReply, answer: OcspAnswer, cacheable: boolean): FastifyReply {
  reply.type(OCSP_RESPONSE);
  if (answer.responseStatus !== 'successful') {
    reply.header('cache-control', 'no-store');
    if (answer.detail) reply.header('x-ocsp-problem', headerText(answer.detail));
  } else if (cacheable && answer.maxAgeSeconds > 0 && answer.producedAt) {
    // RFC 5019 §6.2: max-age within the answer's validity, with Last-Modified, Expires and ETag.
    reply
      .header('cache-control', `max-age=${answer.maxAgeSeconds}, public, no-transform, must-revalidate`)
      .header('last-modified', answer.producedAt.toUTCString())
      .header('expires', new Date(Date.now() + answer.maxAgeSeconds * 1000).toUTCString());
    if (answer.etag) reply.header('etag', answer.etag);
  } else {
    reply.header('cache-control', 'no-cache');
  }
  return reply.send(answer.der);
}

function refuse(reply: FastifyReply, httpStatus: number, detail: string): FastifyReply {
  return reply.code(httpStatus).type(OCSP_RESPONSE).header('cache-control', 'no-store').header('x-ocsp-problem', headerText(detail)).send(OCSP_ERROR_RESPONSES.malformedRequest);
}

/** base64 (standard or URL-safe, padding optional) of a GET request's path, after URL decoding. */
function decodeGetPath(encoded: string): Buffer | null {
  let text: string;
  try {
    text = decodeURIComponent(encoded);
  } catch {
    return null;
  }
  // Clients differ in alphabet and padding; past that, only a canonical encoding is read.
  return decodeBase64Strict(text.replace(/-/g, '+').replace(/_/g, '/'), { padding: 'optional' });
}

function sendCrl(request: FastifyRequest, reply: FastifyReply, crl: CrlPublisher, name: CrlName): FastifyReply {
  const c = crl.current(name);
  const etag = `"${name}-${c.number}"`;
  const maxAge = Math.max(0, Math.min(CRL_MAX_AGE_SECONDS, Math.floor((c.nextUpdate.getTime() - Date.now()) / 1000)));
  reply
    .header('cache-control', `max-age=${maxAge}, public, no-transform, must-revalidate`)
    .header('last-modified', c.thisUpdate.toUTCString())
    .header('expires', c.nextUpdate.toUTCString())
    .header('etag', etag);
  if (request.headers['if-none-match'] === etag) return reply.code(304).send();
  return reply.type('application/pkix-crl').send(c.der);
}

export async function registerTrustStatusRoutes(app: FastifyInstance, deps: TrustStatusRoutesDeps): Promise<void> {
  const ocsp = deps.ocsp ?? (await OcspResponder.create({ trust: deps.trust, status: deps.status }));
  if (!deps.ocsp) app.addHook('onClose', async () => ocsp.close());

  await app.register(async (scope) => {
    // Every body reaches the handler as bytes, whatever its type, so a wrong one is answered in OCSP.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: MAX_REQUEST_OCTETS }, (_req, body, done) => done(null, body));
    scope.setErrorHandler((error, _request, reply) => {
      const status = (error as { statusCode?: number }).statusCode;
      return refuse(reply, status !== undefined && status >= 400 && status < 500 ? status : 400, String((error as Error).message ?? error));
    });

    scope.post('/ocsp', async (request, reply) => {
      const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
      if (type !== OCSP_REQUEST) return refuse(reply, 415, `Content-Type must be ${OCSP_REQUEST}`);
      const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
      return sendOcsp(reply, await ocsp.respond(body), false);
    });

    const get = async (request: FastifyRequest<{ Params: { '*'?: string } }>, reply: FastifyReply) => {
      const der = decodeGetPath(request.params['*'] ?? '');
      if (!der || der.length === 0) return refuse(reply, 400, 'GET /ocsp/<base64 of the DER OCSPRequest>');
      return sendOcsp(reply, await ocsp.respond(der), true);
    };
    scope.get('/ocsp', get);
    scope.get('/ocsp/*', get);
  });

  app.get('/crl/identity-ca.crl', async (request, reply) => sendCrl(request, reply, deps.crl, 'identity-ca'));
  app.get('/crl/identity-ca-delta.crl', async (request, reply) => sendCrl(request, reply, deps.crl, 'identity-ca-delta'));
  app.get('/crl/root-ca.crl', async (request, reply) => sendCrl(request, reply, deps.crl, 'root-ca'));
}
