export * from './conformance.js';
export * from './in-memory-cluster.js';
export * from './in-memory-native.probe.js';
export * from './in-memory.driver.js';
export * from './kubernetes-suite.js';
