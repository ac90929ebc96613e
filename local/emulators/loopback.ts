import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * What the emulators that are HTTP servers share: listening on loopback only, closing at once, and
 * (for those written here) the AWS JSON protocol the real SDK clients speak.
 */
export interface Loopback {
  /** http://127.0.0.1:<port> */
  endpoint: string;
  /** Idempotent; kept-alive SDK connections are closed at once instead of at their idle timeout. */
  close(): Promise<void>;
}

/** A server already listening on 127.0.0.1. */
export function loopback(server: Server): Loopback {
  let closed: Promise<void> | undefined;
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close() {
      closed ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
      return closed;
    },
  };
}

/** Listens on 127.0.0.1 only (port 0 = OS-chosen). */
export async function listenOnLoopback(server: Server, port = 0): Promise<Loopback> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  return loopback(server);
}

/**
 * An error answered in the AWS JSON shape. `code` is the AWS error shape name, so the real SDK
 * raises its class of the same name (ResourceNotFoundException, ExecutionDoesNotExist, ...).
 */
export class AwsServiceError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
    this.name = code;
  }
}

export type AwsJsonOperations = Record<string, (input: Record<string, unknown>) => unknown>;

export interface AwsJsonOptions {
  /** The `X-Amz-Target` prefix: `secretsmanager`, `AWSStepFunctions`. */
  service: string;
  version: '1.0' | '1.1';
  operations: AwsJsonOperations;
  port?: number;
  /** Told about unexpected (500) errors; names and messages only. */
  log?: (message: string, extra?: Record<string, unknown>) => void;
}

const MAX_BODY_BYTES = 1024 * 1024;

/**
 * Serves an AWS JSON protocol on 127.0.0.1: POST, `X-Amz-Target: <service>.<Operation>`, a JSON
 * object body. Signatures are not verified (the credentials are fake), but a signed request shape
 * and a loopback Host header are required, so a web page cannot reach it through DNS rebinding.
 */
export async function serveAwsJson(options: AwsJsonOptions): Promise<Loopback> {
  let port = 0;
  const server = createServer((request, response) => {
    void answer(request).then(
      (body) => send(response, options.version, 200, body),
      (error: unknown) => {
        if (!(error instanceof AwsServiceError)) options.log?.('internal error', { error: String(error) });
        const { code, message, status } =
          error instanceof AwsServiceError
            ? error
            : new AwsServiceError('InternalFailure', 'internal error', 500);
        send(response, options.version, status, { __type: code, message }, code);
      },
    );
  });

  async function answer(request: IncomingMessage): Promise<unknown> {
    const host = request.headers.host;
    if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) {
      throw new AwsServiceError('AccessDeniedException', 'unexpected Host header', 403);
    }
    if (!request.headers.authorization?.startsWith('AWS4-HMAC-SHA256 ')) {
      throw new AwsServiceError('MissingAuthenticationTokenException', 'request is not signed', 403);
    }
    const target = String(request.headers['x-amz-target']);
    const name = target.startsWith(`${options.service}.`) ? target.slice(options.service.length + 1) : '';
    const operation = Object.hasOwn(options.operations, name) ? options.operations[name] : undefined;
    if (request.method !== 'POST' || !operation) {
      throw new AwsServiceError('UnknownOperationException', `unsupported operation '${target}'`);
    }
    return operation(await readJsonObject(request));
  }

  const served = await listenOnLoopback(server, options.port);
  port = Number(new URL(served.endpoint).port);
  return served;
}

async function readJsonObject(request: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES)
      throw new AwsServiceError('SerializationException', 'request body too large', 413);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  let parsed: unknown;
  try {
    parsed = text.trim() === '' ? {} : JSON.parse(text);
  } catch {
    // Answered below.
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new AwsServiceError('SerializationException', 'request body must be a JSON object');
  }
  return parsed as Record<string, unknown>;
}

function send(response: ServerResponse, version: string, status: number, body: unknown, errorType?: string) {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'content-type': `application/x-amz-json-${version}`,
    'content-length': Buffer.byteLength(text),
    'x-amzn-requestid': randomUUID(),
    ...(errorType && { 'x-amzn-errortype': errorType }),
  });
  response.end(text);
}
