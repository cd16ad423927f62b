import type { ApolloServerPlugin } from '@apollo/server';
import depthLimit from 'graphql-depth-limit';
import { getComplexity, simpleEstimator } from 'graphql-query-complexity';
import { GraphQLError, type ValidationRule } from 'graphql';
import { ErrorCode } from '../common/errors.js';

/** Depth limit: one query may not walk the whole history graph. */
export function depthRule(maxDepth: number): ValidationRule {
  return depthLimit(maxDepth) as ValidationRule;
}

/**
 * Cost limit, computed once the operation and its variables are known (a validation rule sees no
 * variables, and would refuse every query that uses them).
 */
export function costPlugin(maxCost: number): ApolloServerPlugin {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ request, document, schema }) {
          const cost = getComplexity({
            schema,
            query: document,
            variables: request.variables ?? {},
            operationName: request.operationName,
            estimators: [simpleEstimator({ defaultComplexity: 1 })],
          });
          if (cost > maxCost) {
            throw new GraphQLError(`query cost ${cost} is over the limit of ${maxCost}; ask for fewer fields or items`, {
              extensions: { code: ErrorCode.Invalid },
            });
          }
        },
      };
    },
  };
}
