export * from './key-wrapper.js';
export * from './sealer.js';
