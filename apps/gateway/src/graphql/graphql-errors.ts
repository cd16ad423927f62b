import type { GraphQLFormattedError } from 'graphql';
import { ErrorCode } from '../common/errors.js';
import { requestContext } from '../common/request-context.js';

const VARIABLE = /^Variable "\$([A-Za-z0-9_]+)" got invalid value .*?(?:; |$)/s;
const AT = /^Variable "\$[A-Za-z0-9_]+" got invalid value .*? at "([^"]+)";/s;

/**
 * A variable the input types refuse (an unknown field, a string for an Int, a missing required
 * field) fails before any resolver runs; it gets the error shape the zod validation gives, INVALID
 * with details naming the path, so a client handles one shape whichever layer refused the input.
 */
export function formatGraphqlError(formatted: GraphQLFormattedError): GraphQLFormattedError {
  const variable = VARIABLE.exec(formatted.message);
  if (!variable) return formatted;
  const reason = formatted.message.slice(variable[0].length) || formatted.message;
  const path = AT.exec(formatted.message)?.[1] ?? variable[1]!;
  return {
    message: formatted.message,
    ...(formatted.locations ? { locations: formatted.locations } : {}),
    extensions: { code: ErrorCode.Invalid, details: [{ path, message: reason }], correlationId: requestContext.correlationId() },
  };
}
