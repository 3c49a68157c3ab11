export * from './certificates.js';
export * from './profiles.js';
export * from './ceremony.js';
export * from './ports.js';
export * from './trust-keys.js';
