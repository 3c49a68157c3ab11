/** How a test addresses one API request: a bearer token (or a raw Authorization header), a JSON body, extra headers. */
export interface ApiRequestOptions {
  token?: string;
  /** Sent as is instead of `Bearer <token>`. */
  authorization?: string;
  /** Sent as JSON; `raw` instead is sent byte for byte, still as application/json. */
  body?: unknown;
  raw?: string;
  accept?: string;
  headers?: Record<string, string>;
}

/** One request to the API at `baseUrl`, as a client would send it. */
export function apiRequest(baseUrl: string, method: string, path: string, options: ApiRequestOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.authorization !== undefined) headers.authorization = options.authorization;
  else if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.accept) headers.accept = options.accept;
  let body: string | undefined;
  if (options.raw !== undefined || options.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = options.raw ?? JSON.stringify(options.body);
  }
  return fetch(`${baseUrl}${path}`, { method, headers, ...(body !== undefined && { body }) });
}
