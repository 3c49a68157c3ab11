export * from './process/enrollment-process.js';
export * from './process/dedup-claims.js';
export * from './process/executor.js';
export * from './credentials/issuance-consumer.js';
export * from './checkpointer/checkpointer.js';
export * from './checkpointer/policy.js';
export * from './sync/index.js';
