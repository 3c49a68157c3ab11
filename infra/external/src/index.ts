export * from './http-json.js';
export * from './civil-registry.js';
export * from './immigration.js';
export * from './abis.js';
export * from './sync.js';
