import { startSimulators, type RunningSimulators, type StartSimulatorsOptions } from '../src/main.js';

export const TOKEN = 'test-service-token';
export const ADMIN_TOKEN = 'test-admin-token';

export async function startForTest(options: StartSimulatorsOptions = {}): Promise<RunningSimulators> {
  return startSimulators({ sigaPort: 0, immigrationPort: 0, token: TOKEN, adminToken: ADMIN_TOKEN, citizens: 500, foreigners: 100, ...options });
}

export function authorized(extra: Record<string, string> = {}): Record<string, string> {
  return { authorization: `Bearer ${TOKEN}`, ...extra };
}

/** Headers of an /_admin request. */
export function asAdmin(extra: Record<string, string> = {}): Record<string, string> {
  return { authorization: `Bearer ${ADMIN_TOKEN}`, ...extra };
}

export async function getJson(url: string, headers = authorized()): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url, { headers });
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : JSON.parse(text) };
}

export async function postJson(url: string, body: unknown, headers = authorized()): Promise<{ status: number; body: unknown }> {
  const response = await fetch(url, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : JSON.parse(text) };
}

export async function setFaults(baseUrl: string, knobs: Record<string, unknown>): Promise<Response> {
  return fetch(`${baseUrl}/_admin/faults`, { method: 'PUT', headers: asAdmin({ 'content-type': 'application/json' }), body: JSON.stringify(knobs) });
}
