import { randomUUID } from 'node:crypto';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type HTTPMethods } from 'fastify';
import type { Logger } from '@registo/base';
import { DEFAULT_MAX_PACKET_BYTES } from '@registo/packets';
import { RegistoError } from '@registo/schemas';
import { parseJsonBody } from './json-body.js';
import { sendProblem } from './problem.js';
import { textKeyword, withRequestDefaults } from './request-schema.js';

/** A route as registered: what the hostile-input suite and the docs enumerate. */
export interface RegisteredRoute {
  method: HTTPMethods;
  url: string;
}

const registries = new WeakMap<FastifyInstance, RegisteredRoute[]>();

/** Every route registered on an app made by createHttpApp (HEAD twins of GETs left out). */
export function registeredRoutes(app: FastifyInstance): readonly RegisteredRoute[] {
  return registries.get(app) ?? [];
}

/** The HTTP server every gateway mounts its routes on: JSON logs, problem+json errors. */
export function createHttpApp(logger: Logger): FastifyInstance {
  const app = Fastify({
    loggerInstance: logger as unknown as FastifyBaseLogger,
    // Request logs would drown the event log; errors are logged where they are handled.
    logController: new LogController({ disableRequestLogging: true }),
    // No JSON body the API takes is larger than the largest packet intake takes.
    bodyLimit: DEFAULT_MAX_PACKET_BYTES,
    // A request id no one can guess or collide with across restarts; every problem body carries it.
    genReqId: () => randomUUID(),
    // Bodies are taken as sent: a number is not a reason, and a field nobody asked for is refused, not dropped.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false }, plugins: [textKeyword] },
    // A URL the router cannot decode is the caller's fault and gets a problem body like any other.
    frameworkErrors: (error, request, reply) => void sendProblem(reply, request, error),
  });
  const routes: RegisteredRoute[] = [];
  registries.set(app, routes);
  app.addHook('onRoute', (route) => {
    withRequestDefaults(route);
    for (const method of [route.method].flat()) if (method !== 'HEAD') routes.push({ method, url: route.url });
  });
  // Strict JSON for every JSON body: duplicate keys and `__proto__` are refused (http/json-body.ts).
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(String(body)));
    } catch (e) {
      done(e as Error, undefined);
    }
  });
  app.setErrorHandler((error, request, reply) => sendProblem(reply, request, error));
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, request, new RegistoError('NOT_FOUND', `no route ${request.method} ${request.url.split('?')[0]!.slice(0, 200)}`)),
  );
  return app;
}
