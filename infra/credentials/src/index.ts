export * from './credential-types.js';
export * from './base45.js';
export * from './qr.js';
export * from './status-list.js';
export * from './vc-jwt.js';
export * from './csr.js';
export * from './holder-proof.js';
