import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

/** One history event; `detailsKey` names the AWS field its details go in (e.g. `taskFailedEventDetails`). */
export interface HistoryEventRecord {
  id: number;
  previousEventId: number;
  /** Epoch ms. */
  timestamp: number;
  type: string;
  detailsKey?: string;
  details?: Record<string, unknown>;
}

export interface ExecutionRecord {
  executionArn: string;
  stateMachineArn: string;
  stateMachineName: string;
  name: string;
  status: ExecutionStatus;
  /** JSON text, as the API carries it. */
  input: string;
  output?: string;
  error?: string;
  cause?: string;
  /** Epoch ms. */
  startDate: number;
  stopDate?: number;
  history: HistoryEventRecord[];
}

const FLUSH_INTERVAL_MS = 200;

/**
 * Execution records on disk, one JSON file per execution under `<dataDir>/executions/`.
 * Writes are atomic (temp file + rename) and serialized per execution; history changes are
 * coalesced (at most one write per execution every 200 ms), terminal states are written at once.
 */
export class ExecutionFiles {
  private readonly dir: string;
  private readonly dirty = new Map<string, ExecutionRecord>();
  private readonly writing = new Map<string, Promise<void>>();
  private flushTimer: NodeJS.Timeout | undefined;

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'executions');
    mkdirSync(this.dir, { recursive: true });
  }

  /** Every stored record; unreadable files are reported and skipped, never fatal. */
  loadAll(onUnreadable: (file: string, error: unknown) => void): ExecutionRecord[] {
    const records: ExecutionRecord[] = [];
    for (const file of readdirSync(this.dir)) {
      if (!file.endsWith('.json')) continue;
      try {
        records.push(JSON.parse(readFileSync(join(this.dir, file), 'utf8')) as ExecutionRecord);
      } catch (error) {
        onUnreadable(file, error);
      }
    }
    return records;
  }

  /** Coalesced write for a running execution's progress. */
  markDirty(record: ExecutionRecord): void {
    this.dirty.set(record.executionArn, record);
    this.flushTimer ??= setTimeout(() => {
      this.flushTimer = undefined;
      void this.flush();
    }, FLUSH_INTERVAL_MS);
  }

  /** Writes now (and waits), e.g. for a terminal state. */
  save(record: ExecutionRecord): Promise<void> {
    this.dirty.delete(record.executionArn);
    const previous = this.writing.get(record.executionArn) ?? Promise.resolve();
    const next = previous.then(() => this.write(record));
    const tracked = next.finally(() => {
      if (this.writing.get(record.executionArn) === tracked) this.writing.delete(record.executionArn);
    });
    this.writing.set(record.executionArn, tracked);
    return next;
  }

  async flush(): Promise<void> {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    const pending = [...this.dirty.values()].map((record) => this.save(record));
    await Promise.all([...pending, ...this.writing.values()]);
  }

  private async write(record: ExecutionRecord): Promise<void> {
    const file = join(this.dir, `${createHash('sha256').update(record.executionArn).digest('hex')}.json`);
    const temp = `${file}.${process.pid}.tmp`;
    await writeFile(temp, JSON.stringify(record));
    await rename(temp, file);
  }
}
