export * from './http/problem.js';
export * from './http/app.js';
export * from './ops/health.js';
export * from './auth/tokens.js';
export * from './intake/routes.js';
export * from './adjudication/routes.js';
export * from './query/routes.js';
export * from './trust/tsa-routes.js';
