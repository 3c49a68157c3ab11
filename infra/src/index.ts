export * from './event-store/index.js';
export * from './config/config.js';
export * from './telemetry/logger.js';
