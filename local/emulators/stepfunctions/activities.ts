import { SfnServiceError } from './errors';

/** A scheduled activity task waiting for a worker. */
export interface QueuedActivityTask {
  token: string;
  /** The task's input as JSON text (what GetActivityTask returns). */
  input: string;
  /** False once the task ended unclaimed (timeout, execution stopped): it is skipped. */
  isOpen(): boolean;
  /** Called once, when a worker takes the task (records ActivityStarted). */
  onStarted(workerName: string): void;
}

export interface ClaimedActivityTask {
  taskToken: string;
  input: string;
}

interface Poller {
  workerName: string;
  resolve(task: ClaimedActivityTask | undefined): void;
  timer: NodeJS.Timeout;
}

interface Activity {
  arn: string;
  name: string;
  createdAt: number;
  queue: QueuedActivityTask[];
  pollers: Poller[];
}

/** AWS: activity names are 1-80 characters of letters, digits, `-` and `_`. */
const ACTIVITY_NAME = /^[A-Za-z0-9_-]{1,80}$/;
const ACTIVITY_ARN = /^arn:aws:states:[a-z0-9-]+:\d{12}:activity:([A-Za-z0-9_-]{1,80})$/;
/** GetActivityTask's long poll on AWS: 60 seconds, then an empty answer. */
export const DEFAULT_ACTIVITY_POLL_MS = 60_000;

export const isActivityArn = (arn: string): boolean => ACTIVITY_ARN.test(arn);

/**
 * Step Functions activities: named queues of scheduled tasks that workers take with a long poll
 * (GetActivityTask). A task reaches exactly one worker; its token then answers it like a
 * callback token. The token is handed to the worker only, never recorded in the history.
 */
export class Activities {
  private readonly byArn = new Map<string, Activity>();

  constructor(
    private readonly region: string,
    private readonly account: string,
    private readonly pollMs = DEFAULT_ACTIVITY_POLL_MS,
  ) {}

  arnOf(name: string): string {
    return `arn:aws:states:${this.region}:${this.account}:activity:${name}`;
  }

  /** CreateActivity: idempotent by name, as on AWS. */
  create(name: string): { activityArn: string; creationDate: number } {
    if (!ACTIVITY_NAME.test(name)) throw new SfnServiceError('InvalidName', `Invalid Name: '${name}'`);
    const arn = this.arnOf(name);
    let activity = this.byArn.get(arn);
    if (!activity) {
      activity = { arn, name, createdAt: Date.now(), queue: [], pollers: [] };
      this.byArn.set(arn, activity);
    }
    return { activityArn: arn, creationDate: activity.createdAt };
  }

  exists(arn: string): boolean {
    return this.byArn.has(arn);
  }

  list(): Array<{ activityArn: string; name: string; creationDate: number }> {
    return [...this.byArn.values()].map((a) => ({
      activityArn: a.arn,
      name: a.name,
      creationDate: a.createdAt,
    }));
  }

  /** Queues a scheduled task, or hands it at once to the longest-waiting poller. */
  schedule(arn: string, task: QueuedActivityTask): void {
    const activity = this.activity(arn);
    const poller = activity.pollers.shift();
    if (poller) {
      clearTimeout(poller.timer);
      task.onStarted(poller.workerName);
      poller.resolve({ taskToken: task.token, input: task.input });
      return;
    }
    activity.queue = activity.queue.filter((queued) => queued.isOpen());
    activity.queue.push(task);
  }

  /** GetActivityTask: the oldest open task, or undefined after the long poll. */
  take(arn: string, workerName = ''): Promise<ClaimedActivityTask | undefined> {
    if (workerName.length > 80) {
      throw new SfnServiceError('ValidationException', "'workerName' must be at most 80 characters");
    }
    const activity = this.activity(arn);
    while (activity.queue.length > 0) {
      const task = activity.queue.shift() as QueuedActivityTask;
      if (!task.isOpen()) continue;
      task.onStarted(workerName);
      return Promise.resolve({ taskToken: task.token, input: task.input });
    }
    return new Promise((resolve) => {
      const poller: Poller = {
        workerName,
        resolve,
        timer: setTimeout(() => {
          activity.pollers = activity.pollers.filter((p) => p !== poller);
          resolve(undefined);
        }, this.pollMs),
      };
      activity.pollers.push(poller);
    });
  }

  /** Answers every waiting poller empty (shutdown). */
  close(): void {
    for (const activity of this.byArn.values()) {
      for (const poller of activity.pollers) {
        clearTimeout(poller.timer);
        poller.resolve(undefined);
      }
      activity.pollers = [];
      activity.queue = [];
    }
  }

  private activity(arn: string): Activity {
    const activity = this.byArn.get(arn);
    if (activity) return activity;
    if (!isActivityArn(arn)) throw new SfnServiceError('InvalidArn', `Invalid Arn: '${arn}'`);
    throw new SfnServiceError('ActivityDoesNotExist', `Activity Does Not Exist: '${arn}'`);
  }
}
