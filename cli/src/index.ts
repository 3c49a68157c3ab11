export * from './main.js';
export * from './platform.js';
export * from './commands/schemas.js';
