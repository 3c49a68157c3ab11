export * from './merkle.js';
export * from './note.js';
export * from './leaf.js';
export * from './tree-store.js';
export * from './export-format.js';
export * from './verifier.js';
export * from './timestamp-check.js';
export * from './verify-stream.js';
