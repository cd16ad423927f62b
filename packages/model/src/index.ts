export * from './app-spec.js';
export * from './compose.js';
export * from './duration.js';
export * from './hash.js';
export * from './validation.js';
export * from './workload-policy.js';
