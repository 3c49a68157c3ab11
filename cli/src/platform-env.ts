/**
 * The variables of a whole platform on this machine with the external systems simulated
 * in-process: every port chosen free by the system, the API on loopback. Benchmarks and the
 * test suites start platforms this way; they add the store, data dir, keys and tokens.
 */
export const SIMULATED_LOOPBACK_ENV: Readonly<NodeJS.ProcessEnv> = Object.freeze({
  REGISTO_SIMULATORS: 'on',
  REGISTO_SIGA_PORT: '0',
  REGISTO_IMMIGRATION_PORT: '0',
  REGISTO_ABIS_PORT: '0',
  PORT: '0',
  HOST: '127.0.0.1',
});
