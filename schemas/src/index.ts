export * from './errors.js';
export * from './canonical.js';
export * from './admin-units.js';
export * from './stream-id.js';
export * from './catalog.js';
export * from './envelope.js';
export * from './compat.js';
export * from './types/index.js';
