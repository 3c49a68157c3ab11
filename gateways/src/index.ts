export * from './http/problem.js';
export * from './http/app.js';
export * from './ops/health.js';
