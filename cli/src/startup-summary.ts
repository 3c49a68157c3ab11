import { DEV_API_TOKENS, type RegistoConfig } from '@registo/config';

/**
 * The one start-up line that says which API tokens, external systems and key file this
 * platform uses, so that nothing about them is silent: a platform that would refuse every call
 * (no tokens) or run no enrollment process (no external systems) says so, with what to set.
 */
export function startupSummary(config: RegistoConfig, keysFile: string | null): { level: 'info' | 'warn'; fields: Record<string, unknown>; message: string } {
  const apiTokens =
    config.apiTokens === DEV_API_TOKENS ? 'development tokens (the README lists them; loopback connections only)'
    : config.apiTokens.trim() === '' ? 'none: every API call is refused (401); set REGISTO_API_TOKENS=token:id:role,…'
    : `${config.apiTokens.split(',').filter((t) => t.trim()).length} configured (REGISTO_API_TOKENS)`;
  const externalSystems =
    config.simulators ? 'simulated in-process (REGISTO_SIMULATORS=on)'
    : config.external ? { siga: config.external.sigaUrl, immigration: config.external.immigrationUrl, abis: config.external.abisUrl }
    : 'none: the process and sync roles do not run; set REGISTO_SIGA_URL, REGISTO_IMMIGRATION_URL, REGISTO_ABIS_URL and REGISTO_EXTERNAL_TOKEN, or REGISTO_SIMULATORS=on';
  const problems = config.apiTokens.trim() === '' || (!config.simulators && !config.external);
  return {
    level: problems ? 'warn' : 'info',
    fields: { apiTokens, externalSystems, keysFile: keysFile ?? 'none (qualified: the token holds the keys)', dataDir: config.dataDir, listen: `${config.http.host}:${config.http.port}` },
    message: 'what this platform uses',
  };
}
