export * from './process/enrollment-process.js';
