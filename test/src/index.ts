export * from './support/postgres.js';
export * from './support/events.js';
