export * from './random.js';
export * from './names.js';
export * from './population.js';
export * from './faults.js';
export { DEFAULT_SERVICE_TOKEN, createSimulatorApp, normalizeText, type SimulatorApp, type SimulatorAppOptions } from './app.js';
export * from './siga.js';
export * from './immigration.js';
export * from './main.js';
