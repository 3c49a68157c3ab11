export * from './process/enrollment-process.js';
export * from './process/dedup-claims.js';
export * from './process/executor.js';
export * from './sync/index.js';
