import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { Logger } from '@registo/infra';
import { RegistoError } from '@registo/schemas';
import { sendProblem } from './problem.js';

/** The HTTP server every gateway mounts its routes on: JSON logs, problem+json errors. */
export function createHttpApp(logger: Logger): FastifyInstance {
  const app = Fastify({
    loggerInstance: logger as unknown as FastifyBaseLogger,
    // Request logs would drown the event log; errors are logged where they are handled.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 2 * 1024 * 1024,
    // Bodies are taken as sent: a number is not a reason, and a field nobody asked for is refused, not dropped.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false } },
  });
  app.setErrorHandler((error, request, reply) => sendProblem(reply, request, error));
  app.setNotFoundHandler((request, reply) =>
    sendProblem(reply, request, new RegistoError('NOT_FOUND', `no route ${request.method} ${request.url}`)),
  );
  return app;
}
