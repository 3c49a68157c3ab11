export * from './event-store/index.js';
export * from './config/config.js';
export * from './telemetry/logger.js';
export * from './kafka/index.js';
export * from './consumer-runtime/index.js';
export * from './crypto/index.js';
export * from './external/index.js';
export * from './packets/index.js';
