export * from './config/variables.js';
export * from './client/platform-fetch.js';
export * from './telemetry/logger.js';
export * from './telemetry/loggable-error.js';
export * from './text/text-field.js';
export * from './text/strict-json.js';
export * from './net/loopback.js';
