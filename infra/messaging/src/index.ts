export * from './kafka/index.js';
export * from './consumer-runtime/index.js';
