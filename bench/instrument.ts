import { type IncomingMessage, Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Counts every HTTP request served in this process, per listening port, without touching the
 * emulators: `http.Server.prototype.emit('request')` is wrapped once. Each request is recorded with
 * its method, path, `x-amz-target` (the AWS JSON-protocol operation), request size and service time
 * (request seen → response finished). A port can also get an added delay before its handler runs,
 * which the bench uses to emulate model generation time on the model stand-in.
 */

export interface ServedRequest {
  port: number;
  method: string;
  path: string;
  /** e.g. `DynamoDB_20120810.PutItem`, `AmazonSQS.SendMessage`; '' for non-AWS requests. */
  target: string;
  requestBytes: number;
  status: number;
  startedAt: number;
  endedAt: number;
}

export interface Recorder {
  /** Requests served so far (bounded; the oldest are dropped past the cap). */
  requests(): ServedRequest[];
  /** Marks the current position: `since(mark)` returns what was served after it. */
  mark(): number;
  since(mark: number): ServedRequest[];
  /** Delays requests to `port` and exactly `path` by `ms` before they are handled. */
  setDelay(port: number, path: string, ms: number): void;
  clearDelays(): void;
}

const MAX_RECORDED = 500_000;

let installed: Recorder | undefined;

export function installRecorder(): Recorder {
  if (installed) return installed;
  const served: ServedRequest[] = [];
  let dropped = 0;
  const delays = new Map<number, { path: string; ms: number }>();
  const originalEmit = Server.prototype.emit as (this: Server, ...args: unknown[]) => boolean;

  Server.prototype.emit = function emit(this: Server, event: string | symbol, ...args: unknown[]): boolean {
    if (event !== 'request') return originalEmit.call(this, event, ...args);
    const request = args[0] as IncomingMessage;
    const response = args[1] as ServerResponse;
    const port = (this.address() as AddressInfo | null)?.port ?? 0;
    const record: ServedRequest = {
      port,
      method: request.method ?? '',
      path: (request.url ?? '').split('?')[0] ?? '',
      target: String(request.headers['x-amz-target'] ?? ''),
      requestBytes: Number(request.headers['content-length'] ?? 0) || 0,
      status: 0,
      startedAt: performance.now(),
      endedAt: 0,
    };
    response.once('finish', () => {
      record.status = response.statusCode;
      record.endedAt = performance.now();
      if (served.length >= MAX_RECORDED) {
        served.shift();
        dropped += 1;
      }
      served.push(record);
    });
    const delay = delays.get(port);
    if (delay && delay.ms > 0 && record.path === delay.path) {
      // The request body stays buffered in the paused stream until the handler reads it.
      setTimeout(() => originalEmit.call(this, event, ...args), delay.ms);
      return true;
    }
    return originalEmit.call(this, event, ...args);
  } as typeof Server.prototype.emit;

  installed = {
    requests: () => [...served],
    mark: () => served.length + dropped,
    since: (mark) => served.slice(Math.max(0, mark - dropped)),
    setDelay: (port, path, ms) => {
      delays.set(port, { path, ms });
    },
    clearDelays: () => delays.clear(),
  };
  return installed;
}

export const portOf = (url: string): number => Number(new URL(url).port);
