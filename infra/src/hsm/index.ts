export * from './signer.js';
export * from './ecdsa.js';
export * from './pkcs11-token.js';
export * from './pkcs11-signer.js';
export * from './pkcs11-key-wrapper.js';
export * from './open-signer.js';
export * from './pkcs11-mac-key.js';
export * from './pkcs11-intake-decrypter.js';
