export * from './decider.js';
export * from './command-handler.js';
export * from './deciders/enrollment.js';
export * from './deciders/identity.js';
export * from './mirror/mirror.js';
export * from './uin/index.js';
export * from './enrollment/personal-data.js';
export * from './deciders/trust.js';
