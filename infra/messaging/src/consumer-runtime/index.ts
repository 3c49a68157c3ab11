export * from './source.js';
export * from './store-source.js';
export * from './kafka-source.js';
export * from './dead-letters.js';
export * from './sql-consumer.js';
export * from './retrying-consumer.js';
export * from './stream-parallel-consumer.js';
export * from './supervisor.js';
