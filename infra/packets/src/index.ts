export * from './content.js';
export * from './content-checks.js';
export * from './reg-id.js';
export * from './authority.js';
export * from './signer-trust.js';
export * from './codec.js';
export * from './intake-decrypter.js';
export * from './codec-kit.js';
