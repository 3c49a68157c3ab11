export * from './enrollment-status/reducer.js';
export * from './enrollment-status/projection.js';
export * from './identity-registry/reducer.js';
export * from './identity-registry/projection.js';
export * from './adjudication-queue/reducer.js';
export * from './adjudication-queue/projection.js';
export * from './replay.js';
