export * from './certificates.js';
export * from './profiles.js';
export * from './ceremony.js';
export * from './ports.js';
export * from './trust-keys.js';
export * from './der.js';
export * from './tsa.js';
export * from './tsa-protocol.js';
