import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Inject } from '@nestjs/common';
import type { Request, Response } from 'express';
import { GraphQLError } from 'graphql';
import type { Logger } from 'pino';
import { asBerthError, type ErrorBody, ErrorCode, HTTP_STATUS } from './errors.js';
import { LOGGER } from './logger.js';
import { requestContext } from './request-context.js';

const HTTP_CODES: Record<number, ErrorCode> = {
  400: ErrorCode.Invalid,
  401: ErrorCode.Unauthenticated,
  403: ErrorCode.Forbidden,
  404: ErrorCode.NotFound,
  409: ErrorCode.Conflict,
  413: ErrorCode.PayloadTooLarge,
  429: ErrorCode.RateLimited,
};

/**
 * The one place errors become responses. Domain errors keep their code and message; Nest's own
 * HTTP errors (unknown route, body too large) keep their status; anything else is a bug: a generic
 * 500 with the correlation id, logged once with its stack.
 */
@Catch()
export class ErrorFilter implements ExceptionFilter {
  constructor(@Inject(LOGGER) private readonly logger: Logger) {}

  toBody(exception: unknown): { status: number; body: ErrorBody } {
    const correlationId = requestContext.correlationId();
    const known = asBerthError(exception);
    if (known) {
      const body: ErrorBody = { ...known.extra, code: known.code, message: known.message, correlationId };
      if (known.details.length) body.details = known.details;
      return { status: HTTP_STATUS[known.code], body };
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const response = exception.getResponse();
      let message = typeof response === 'string' ? response : String((response as { message?: unknown }).message ?? exception.message);
      // body-parser's errors arrive wrapped: say which part of the request was wrong
      const cause = exception.cause as { type?: string } | undefined;
      if (cause?.type === 'entity.parse.failed' || exception.cause instanceof SyntaxError) message = `malformed request body: ${message}`;
      if (status === 413) message = 'request body too large';
      if (status < 500) return { status, body: { code: HTTP_CODES[status] ?? ErrorCode.Invalid, message, correlationId } };
    }
    this.logger.error({ err: exception }, 'unhandled error');
    return { status: 500, body: { code: ErrorCode.Internal, message: `internal error (correlation id ${correlationId ?? 'none'})`, correlationId } };
  }

  catch(exception: unknown, host: ArgumentsHost) {
    const { status, body } = this.toBody(exception);
    if (host.getType<string>() === 'graphql') {
      const { message, ...extensions } = body;
      return new GraphQLError(message, { extensions: { ...extensions, httpStatus: status } });
    }
    const http = host.switchToHttp();
    const res = http.getResponse<Response>();
    const req = http.getRequest<Request>();
    if (res.headersSent) {
      this.logger.warn({ url: req.url, code: body.code }, 'error after the response started');
      res.end();
      return;
    }
    res.status(status).json({ error: body });
  }
}
