export * from './verhoeff.js';
export * from './rules.js';
export * from './generator.js';
export * from './allocate.js';
