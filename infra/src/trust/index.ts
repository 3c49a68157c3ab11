export * from './certificates.js';
export * from './profiles.js';
export * from './ceremony.js';
