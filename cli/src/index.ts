export * from './main.js';
export * from './platform.js';
export * from './platform-env.js';
export * from './commands/schemas.js';
export * from './demo/packets.js';
export * from './demo/client.js';
export * from './demo/run-demo.js';
