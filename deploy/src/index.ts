/**
 * @registo/deploy — how Registo runs outside the developer's editor.
 * Today: the local Kafka broker + Apicurio schema registry used by `registo infra` and the test suite.
 */
export * from './local-infra/index.js';
export * from './partner-tools/index.js';
export * from './softhsm/index.js';
