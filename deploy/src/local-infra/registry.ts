import { request } from 'node:http';
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { cdsFlags, cleanOldCdsDumps, type ComponentDriver, type LaunchPlan } from './component.js';
import type { InfraConfig } from './config.js';
import { InfraError } from './errors.js';
import { ensureRegistry, installedRegistry } from './fetch.js';
import { selectJava, type JavaRuntime } from './java.js';

/** Path of the Confluent-compatible API that Kafka serdes talk to. */
export const CCOMPAT_PATH = '/apis/ccompat/v7';

/** Apicurio 3.2+ is built for Java 21; 3.0/3.1 run on 17. */
function registryMinJava(version: string): number {
  const [major = 0, minor = 0] = version.split('.').map((p) => Number.parseInt(p, 10));
  return major > 3 || (major === 3 && minor >= 2) ? 21 : 17;
}

/**
 * Quarkus/Apicurio settings, passed as system properties (which outrank environment variables in Quarkus, so a
 * stray QUARKUS_* / APICURIO_* in the user's shell cannot move the port or switch storage).
 */
function registrySystemProperties(cfg: InfraConfig): Record<string, string> {
  return {
    // where to listen
    'quarkus.http.host': cfg.host,
    'quarkus.http.port': String(cfg.registryPort),
    'quarkus.management.host': cfg.host, // health/metrics interface, enabled at build time (default port 9000)
    'quarkus.management.port': String(cfg.registryManagementPort),
    // Storage in an H2 database file under the state dir. It must outlive restarts as long as
    // Kafka's data does: messages carry schema ids, and an empty registry would hand the same
    // ids to other schemas. `infra down --purge` deletes both together.
    'apicurio.storage.kind': 'sql',
    'apicurio.storage.sql.kind': 'h2',
    'apicurio.datasource.url': `jdbc:h2:file:${registryDataDir(cfg)}/registo`,
    'apicurio.datasource.jdbc.initial-size': '2', // default 20 connections costs ~2 s of startup
    'apicurio.datasource.jdbc.min-size': '2',
    // no auth, nothing that reaches for the network
    'quarkus.oidc.tenant-enabled': 'false',
    'apicurio.authn.basic-client-credentials.enabled': 'false',
    'apicurio.auth.role-based-authorization': 'false',
    'quarkus.otel.sdk.disabled': 'true',
    'quarkus.http.access-log.enabled': 'false',
    // upstream 3.3.x default pattern prints dates like "2026-11+00-21"
    'quarkus.log.console.format': '%d{yyyy-MM-dd HH:mm:ss,SSS} %p [%c{3.}] (%t) %s%e%n',
  };
}

const REGISTRY_JVM_FLAGS = [
  '-Xms64m',
  '-Xmx512m',
  '-XX:+UseSerialGC',
  '-XX:TieredStopAtLevel=1', // C1 only: ~30% faster start, plenty for a local schema registry
  '-XX:+ExitOnOutOfMemoryError',
  '-Djava.awt.headless=true',
];

interface HttpAnswer {
  status: number;
  body: string;
}

/** GET without keep-alive, so probes never hold the caller's event loop open. */
export function httpGet(url: string, timeoutMs = 2000): Promise<HttpAnswer | undefined> {
  return new Promise((resolvePromise) => {
    const req = request(url, { method: 'GET', agent: false, headers: { accept: 'application/json', connection: 'close' }, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', () => resolvePromise(undefined));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolvePromise(undefined));
    req.end();
  });
}

/** Where the registry's H2 database files live. */
function registryDataDir(cfg: InfraConfig): string {
  return join(cfg.stateDir, 'registry', 'data');
}

export function registryDriver(cfg: InfraConfig): ComponentDriver {
  const home = join(cfg.stateDir, 'registry');
  const base = `http://${cfg.host}:${cfg.registryPort}`;
  let java: JavaRuntime | undefined;
  const driver: ComponentDriver = {
    name: 'registry',
    label: 'Apicurio Registry',
    version: cfg.registryVersion,
    address: base,
    ports: [
      { port: cfg.registryPort, what: 'registry HTTP', hint: 'REGISTO_REGISTRY_PORT or the registryPort option' },
      {
        port: cfg.registryManagementPort,
        what: 'registry management interface',
        hint: 'REGISTO_REGISTRY_MANAGEMENT_PORT or the registryManagementPort option',
      },
    ],
    markers: ['-Dregisto.infra=registry', `-Dregisto.stateDir=${cfg.stateDir}`],
    logFile: join(cfg.logsDir, 'registry.log'),
    minJava: registryMinJava(cfg.registryVersion),

    isInstalled: () => installedRegistry(cfg) !== undefined,

    async ensureInstalled(timeoutMs) {
      await ensureRegistry(cfg, timeoutMs);
    },

    async selectJava() {
      java ??= await selectJava(driver.minJava, `Apicurio Registry ${cfg.registryVersion}`);
      return java;
    },

    async prepare(): Promise<LaunchPlan> {
      const install = installedRegistry(cfg);
      if (!install) throw new InfraError(`Apicurio Registry ${cfg.registryVersion} is not fetched yet`);
      const runtime = await driver.selectJava();
      // Own working dir: Quarkus reads ./.env and ./config/application.properties from the cwd.
      await mkdir(home, { recursive: true });
      const cdsDir = join(install.dir, 'cds');
      await mkdir(cdsDir, { recursive: true });
      await cleanOldCdsDumps(cdsDir);
      const cds = cdsFlags(runtime, cdsDir);
      const props = Object.entries(registrySystemProperties(cfg)).map(([k, v]) => `-D${k}=${v}`);
      return {
        java: runtime,
        cwd: home,
        args: [...REGISTRY_JVM_FLAGS, ...cds.flags, ...props, ...driver.markers, '-jar', install.jar],
        ...(cds.dump ? { cdsDump: cds.dump } : {}),
      };
    },

    async purge() {
      const dir = registryDataDir(cfg);
      if (!existsSync(dir)) return undefined;
      await rm(dir, { recursive: true, force: true });
      return dir;
    },

    async isReady() {
      const answer = await httpGet(`${base}${CCOMPAT_PATH}/subjects`, 2000);
      return answer?.status === 200;
    },

    kind: 'schema registry',

    async answersForClients() {
      // What the platform asks of a registry: the Confluent-compatible subject list.
      const answer = await httpGet(`${base}${CCOMPAT_PATH}/subjects`, 1500);
      return answer?.status === 200;
    },

    async describeForeign() {
      const info = await httpGet(`${base}/apis/registry/v3/system/info`, 1500);
      if (info?.status === 200 && info.body.includes('"name"')) {
        try {
          const parsed = JSON.parse(info.body) as { name?: string; version?: string };
          return `is an ${parsed.name ?? 'Apicurio Registry'} ${parsed.version ?? ''}`.trimEnd();
        } catch {
          // fall through
        }
      }
      const any = await httpGet(`${base}/`, 1500);
      return any ? `answers HTTP (status ${any.status})` : undefined;
    },
  };
  return driver;
}
