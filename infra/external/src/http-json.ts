import { RegistoError, type ExternalSystem } from '@registo/schemas';

/** How every connector to an external government system talks HTTP, and how failures become typed errors. */

export interface HttpConnectorOptions {
  /** e.g. http://127.0.0.1:8091 — no trailing path. */
  baseUrl: string;
  /** The service account's bearer token. */
  token: string;
  /** Per call, covering connection, headers and body. Default 5000. */
  timeoutMs?: number;
  /** Replaceable for tests; the global fetch otherwise. */
  fetch?: typeof fetch;
}

export interface ExternalCallOptions {
  /** Sent as Idempotency-Key so a retried call is not counted twice on the other side. */
  idempotencyKey?: string;
  /** Cancels the call; its reason is rethrown as is. */
  signal?: AbortSignal;
  /** Overrides the connector's timeout for this call. */
  timeoutMs?: number;
}

export interface ExternalRequest {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  /**
   * The path as errors (and so logs and sync failures) name it, when `path` holds personal
   * data: e.g. `/v1/persons/{civilRegistryNumber}`. Defaults to `path`.
   */
  route?: string;
  body?: unknown;
}

export interface ExternalReply {
  status: number;
  /** Parsed JSON for 2xx; undefined for 204 and 404. */
  body: unknown;
  /** The reply's headers (e.g. `idempotent-replayed`). */
  headers?: Headers;
}

export const DEFAULT_EXTERNAL_TIMEOUT_MS = 5000;

function unavailable(system: ExternalSystem, message: string, details: Record<string, unknown>): RegistoError {
  return new RegistoError('EXTERNAL_UNAVAILABLE', `${system}: ${message}`, { system, retryable: true, ...details });
}

export function replyInvalid(system: ExternalSystem, problems: readonly string[], details: Record<string, unknown> = {}): RegistoError {
  return new RegistoError('EXTERNAL_REPLY_INVALID', `${system}: invalid reply: ${problems.join('; ')}`, {
    system,
    retryable: false,
    problems: [...problems],
    ...details,
  });
}

async function discardBody(response: Response): Promise<void> {
  // Leaving a body unread keeps its socket busy; errors here change nothing for the caller.
  await response.body?.cancel().catch(() => undefined);
}

export class ExternalHttpClient {
  private readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly fetchFn: typeof fetch;

  constructor(
    private readonly system: ExternalSystem,
    private readonly options: HttpConnectorOptions,
  ) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? DEFAULT_EXTERNAL_TIMEOUT_MS;
    this.fetchFn = options.fetch ?? fetch;
  }

  /**
   * Sends one request. 2xx → parsed JSON, 204 and 404 → no body; everything else throws
   * EXTERNAL_UNAVAILABLE (timeouts, network, 5xx), EXTERNAL_REJECTED (other 4xx) or
   * EXTERNAL_REPLY_INVALID (unparseable body, unexpected status).
   */
  async send(request: ExternalRequest, call: ExternalCallOptions = {}): Promise<ExternalReply> {
    const timeoutMs = call.timeoutMs ?? this.timeoutMs;
    const timeout = AbortSignal.timeout(timeoutMs);
    const signal = call.signal ? AbortSignal.any([timeout, call.signal]) : timeout;
    const headers: Record<string, string> = { accept: 'application/json', authorization: `Bearer ${this.options.token}` };
    if (request.body !== undefined) headers['content-type'] = 'application/json';
    if (call.idempotencyKey !== undefined) headers['idempotency-key'] = call.idempotencyKey;
    const where = { method: request.method, path: request.route ?? request.path };

    const failed = (e: unknown): never => {
      if (call.signal?.aborted) throw call.signal.reason;
      if (e instanceof RegistoError) throw e;
      if (timeout.aborted) throw unavailable(this.system, `no reply within ${timeoutMs} ms`, { ...where, reason: 'timeout', timeoutMs });
      throw unavailable(this.system, `request failed: ${e instanceof Error ? e.message : String(e)}`, { ...where, reason: 'network' });
    };

    let response: Response;
    try {
      response = await this.fetchFn(`${this.baseUrl}${request.path}`, {
        method: request.method,
        headers,
        ...(request.body !== undefined && { body: JSON.stringify(request.body) }),
        signal,
      });
    } catch (e) {
      return failed(e);
    }

    const status = response.status;
    // 204 has no body to parse (a DELETE's usual answer); 404 is an answer the caller interprets.
    if (status === 404 || status === 204) {
      await discardBody(response);
      return { status, body: undefined };
    }
    if (status >= 500) {
      await discardBody(response);
      const retryAfter = Number(response.headers.get('retry-after'));
      throw unavailable(this.system, `answered ${status}`, {
        ...where,
        reason: status === 503 ? 'unavailable' : 'server_error',
        status,
        ...(Number.isFinite(retryAfter) && retryAfter > 0 && { retryAfterSeconds: retryAfter }),
      });
    }
    if (status >= 400) {
      await discardBody(response);
      throw new RegistoError('EXTERNAL_REJECTED', `${this.system}: refused the request with ${status}`, {
        system: this.system,
        retryable: false,
        ...where,
        status,
      });
    }
    if (status < 200 || status >= 300) {
      await discardBody(response);
      throw replyInvalid(this.system, [`unexpected status ${status}`], where);
    }

    let text: string;
    try {
      text = await response.text();
    } catch (e) {
      return failed(e);
    }
    try {
      return { status, body: JSON.parse(text) as unknown, headers: response.headers };
    } catch {
      throw replyInvalid(this.system, ['body is not JSON'], { ...where, status });
    }
  }
}
