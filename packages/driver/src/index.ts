export * from './batches.js';
export * from './diff.js';
export * from './errors.js';
export * from './follow.js';
export * from './guarded-driver.js';
export * from './labels.js';
export * from './types.js';
export * from './read-model.js';
