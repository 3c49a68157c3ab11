export * from './enrollment-status/reducer.js';
export * from './enrollment-status/projection.js';
export * from './identity-registry/reducer.js';
export * from './identity-registry/projection.js';
export * from './replay.js';
