import depthLimit from 'graphql-depth-limit';
import { createComplexityRule, simpleEstimator } from 'graphql-query-complexity';
import type { ValidationRule } from 'graphql';
import { BerthError, ErrorCode } from '../common/errors.js';

/** Depth and cost limits: one query may not walk the whole history graph or ask for it thousands of times. */
export function queryLimits(maxDepth: number, maxCost: number): ValidationRule[] {
  return [
    depthLimit(maxDepth) as ValidationRule,
    createComplexityRule({
      maximumComplexity: maxCost,
      estimators: [simpleEstimator({ defaultComplexity: 1 })],
      createError: (max, actual) =>
        new BerthError(ErrorCode.Invalid, `query cost ${actual} is over the limit of ${max}; ask for fewer fields or items`) as never,
    }),
  ];
}
