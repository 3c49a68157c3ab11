export * from './support/postgres.js';
export * from './support/events.js';
export * from './support/kafka.js';
export * from './support/lifecycles.js';
export * from './support/hostile-packets.js';
export * from './support/population-packets.js';
export * from './support/credential-status-fixture.js';
export * from './support/sync.js';
