export * from './key-wrapper.js';
export * from './sealer.js';
export * from './blind-index.js';
export * from './mac-key.js';
export * from './strict-encoding.js';
