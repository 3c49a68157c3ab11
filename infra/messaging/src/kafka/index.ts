export * from './settings.js';
export * from './topics.js';
export * from './envelope-codec.js';
export * from './client.js';
export * from './ensure-topics.js';
export * from './store-offsets.js';
export * from './purge-prefix.js';
