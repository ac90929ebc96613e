import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import middy from '@middy/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { errorResponse, requestIdOf } from './http';
import type { Log } from './ports';

/**
 * The one place Powertools is configured. Instances live at module scope so a warm container
 * reuses them; the service name, log level and metrics namespace come from Powertools' own
 * variables (POWERTOOLS_SERVICE_NAME, POWERTOOLS_LOG_LEVEL, POWERTOOLS_METRICS_NAMESPACE) set by
 * CDK and by the embedded stack.
 *
 * Tracing: Lambda's active tracing (set in CDK) only; the Powertools Tracer would pull in the
 * X-Ray SDK (hundreds of KB), and the webhook bundle must stay under 300 KB.
 */
export const logger = new Logger({ serviceName: 'code-factory' });
export const metrics = new Metrics({ namespace: 'CodeFactory', serviceName: 'code-factory' });

/** The `Log` port over the shared Powertools logger (what `ports.log` is in every handler). */
export const log: Log = {
  debug: (message, extra) => (extra ? logger.debug(message, extra) : logger.debug(message)),
  info: (message, extra) => (extra ? logger.info(message, extra) : logger.info(message)),
  warn: (message, extra) => (extra ? logger.warn(message, extra) : logger.warn(message)),
  error: (message, extra) =>
    extra instanceof Error
      ? logger.error(message, extra)
      : extra
        ? logger.error(message, extra)
        : logger.error(message),
};

export type HttpHandler = (
  event: APIGatewayProxyEventV2,
  context: Context,
) => Promise<APIGatewayProxyStructuredResultV2>;

/**
 * The HTTP chain: Lambda context in every log line, metrics flushed after each invocation, and a
 * last-resort catch that answers 500 in the error envelope (the handler's own errors are already
 * mapped; this only stops a stack trace or a non-JSON body from leaking).
 */
export function withHttpMiddleware(handler: HttpHandler): HttpHandler {
  return middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>(handler)
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(flushMetrics())
    .use(lastResortErrors()) as unknown as HttpHandler;
}

/**
 * The chain for event-driven handlers (stage runner, LLM worker, its DLQ consumer): the Lambda
 * context in every log line (a warm container must not keep the previous request's keys) and
 * metrics flushed after each invocation. Errors pass through: Step Functions and SQS retry them.
 */
export function withEventMiddleware<TEvent, TResult>(
  handler: (event: TEvent, context: Context) => Promise<TResult>,
) {
  return middy<TEvent, TResult>(handler)
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(flushMetrics<TEvent, TResult>());
}

/**
 * Publishes the invocation's metrics, if it recorded any. Powertools' `logMetrics` would also
 * flush an empty set and print a warning on every such request; most requests record none.
 */
function flushMetrics<
  TEvent = APIGatewayProxyEventV2,
  TResult = APIGatewayProxyStructuredResultV2,
>(): middy.MiddlewareObj<TEvent, TResult> {
  const flush = async () => {
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  };
  return { after: flush, onError: flush };
}

function lastResortErrors(): middy.MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2> {
  return {
    onError: async (request) => {
      const error = request.error;
      logger.error('unhandled error', {
        error: error instanceof Error ? { name: error.name, message: error.message } : String(error),
      });
      metrics.addMetric('UnhandledError', 'Count', 1);
      request.response = errorResponse(500, 'InternalError', 'internal error', requestIdOf(request.event));
    },
  };
}
