export * from './agreement.js';
export * from './outbound.js';
export * from './inbound.js';
