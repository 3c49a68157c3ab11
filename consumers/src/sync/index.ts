export * from './agreement.js';
export * from './outbound.js';
export * from './inbound.js';
export * from './reconcile-rules.js';
export * from './reconcile.js';
export * from './service.js';
