import { createHmac, timingSafeEqual } from 'node:crypto';
import { verify } from '@octokit/webhooks-methods';
import { cancelRun } from '../shared/cancel-run';
import { admitToWorkItem, startRun } from '../shared/start-run';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import {
  checksWaitKeyOf,
  workItemKeyOf,
  isTerminal,
  repoRefOf,
  type RunKind,
  type Trigger,
} from '../shared/domain/run';
import {
  errorResponse,
  type HttpResult,
  header,
  jsonResponse,
  rawBody,
  rawBodyLength,
  requestIdOf,
} from '../shared/http';
import { metrics, withHttpMiddleware } from '../shared/middleware';
import { WRITERS } from '../shared/domain/permission';
import type { DeliveryRecord, PendingWait, Permission, RequestPorts } from '../shared/ports';
import { HELP_TEXT } from './commands';
import { classify, DEFAULT_TRIGGER_LABEL, type Intent, isBotSender, KIND_OF_COMMAND } from './triggers';
import { triggerLabelCacheKey } from '../shared/trigger-label';

/**
 * POST /v1/webhooks/github: the front door. The ack path does only verify → record → start/resume;
 * everything slow (reading the repo's contract, planning, commenting progress) happens in the
 * pipeline. See docs/decisions/0001-webhook-ack-path.md for the request budget and the rules.
 */
export interface WebhookConfig {
  /** Secrets Manager id of the webhook secret. */
  webhookSecretId: string;
  /** The factory's own login: its comments and labels never trigger anything. */
  factoryLogin: string;
  /** Larger bodies are refused with 413 before verification. */
  maxBodyBytes?: number;
  /** How long a delivery id is remembered (GitHub allows redelivery for 3 days). */
  deliveryTtlSeconds?: number;
  /** How long a sender's repository permission is trusted. */
  permissionCacheSeconds?: number;
  /**
   * A duplicate that finds a delivery still RECORDED for less than this assumes the first copy is
   * still working (GitHub gives up on a delivery after 10 s) and answers 202 without starting.
   */
  inFlightMs?: number;
  /** Upper bound on a courtesy comment posted on the ack path. */
  commentTimeoutMs?: number;
}

export interface WebhookPorts extends RequestPorts {
  config: WebhookConfig;
}

export const WEBHOOK_DEFAULTS = {
  maxBodyBytes: 1024 * 1024,
  deliveryTtlSeconds: 7 * 24 * 3600,
  permissionCacheSeconds: 300,
  inFlightMs: 10_000,
  commentTimeoutMs: 2_000,
} as const;

const REFUSAL_COMMENT_TTL_SECONDS = 7 * 24 * 3600;
const MEMO_MS = 60_000;
const DELIVERY_ID = /^[A-Za-z0-9._-]{1,100}$/;
const EVENT_NAME = /^[a-z_]{1,60}$/;

interface Outcome {
  status: number;
  data: Record<string, unknown>;
}

interface Delivery {
  id: string;
  event: string;
}

type StartIntent = Extract<Intent, { type: 'labeled' | 'command' }>;

export function createWebhookCore(ports: WebhookPorts) {
  const { store, workflow, github, secrets, clock, ids, log } = ports;
  const config = { ...WEBHOOK_DEFAULTS, ...ports.config };
  const memo = new Map<string, { value: string; expiresAt: number }>();

  const iso = () => new Date(clock.now()).toISOString();

  async function memoized(key: string, load: () => Promise<string>): Promise<string> {
    const now = clock.now();
    const hit = memo.get(key);
    if (hit && hit.expiresAt > now) return hit.value;
    const value = await load();
    if (memo.size > 10_000) memo.clear(); // bounded: a warm container never grows without limit
    memo.set(key, { value, expiresAt: now + MEMO_MS });
    return value;
  }

  /** write/maintain/admin, cached in memory and in the table's short-lived cache. */
  async function permissionOf(repo: string, login: string): Promise<Permission> {
    const key = `perm:${repo}:${login}`.toLowerCase();
    const value = await memoized(key, async () => {
      const cached = await store.cacheGet(key);
      if (cached) return cached;
      const permission = await github.getPermission(repoRefOf(repo), login);
      await store.cachePut(key, permission, config.permissionCacheSeconds);
      return permission;
    });
    return value as Permission;
  }

  const triggerLabelOf = (repo: string) =>
    memoized(
      triggerLabelCacheKey(repo),
      async () => (await store.cacheGet(triggerLabelCacheKey(repo))) ?? '',
    );

  /** A courtesy comment: bounded in time, and its failure never fails the delivery. */
  async function comment(repo: string, issueNumber: number, body: string): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        log.warn('comment timed out', { repo, issueNumber });
        resolve();
      }, config.commentTimeoutMs);
    });
    const post = github.createComment(repoRefOf(repo), issueNumber, body).then(
      () => undefined,
      (error: unknown) => log.warn('comment failed', { repo, issueNumber, error: errorName(error) }),
    );
    await Promise.race([post, timeout]).finally(() => clearTimeout(timer));
  }

  // ------------------------------------------------------------------------------------------
  // delivery records
  // ------------------------------------------------------------------------------------------
  /**
   * Conditional write on the delivery id. Returns undefined when this call owns the delivery
   * (first, or a stale RECORDED one left by a crash), else the answer for the duplicate.
   */
  async function claim(
    delivery: Delivery,
    fields: Partial<DeliveryRecord>,
  ): Promise<{ owned: true; record: DeliveryRecord } | { owned: false; outcome: Outcome }> {
    const record: DeliveryRecord = {
      deliveryId: delivery.id,
      event: delivery.event,
      state: 'RECORDED',
      receivedAt: iso(),
      ...fields,
    };
    const result = await store.recordDelivery(record, config.deliveryTtlSeconds);
    if (result.first) return { owned: true, record };
    const existing = result.existing;
    if (!existing) return { owned: false, outcome: { status: 200, data: { status: 'duplicate' } } };
    // A refused or ignored delivery never created the run its claim reserved: do not point at it.
    const runId =
      existing.runId && existing.state !== 'REFUSED' && existing.state !== 'IGNORED'
        ? { runId: existing.runId }
        : {};
    if (existing.state !== 'RECORDED') {
      return {
        owned: false,
        outcome: { status: 200, data: { status: 'duplicate', state: existing.state, ...runId } },
      };
    }
    const age = clock.now() - Date.parse(existing.receivedAt);
    if (Number.isFinite(age) && age < config.inFlightMs) {
      return { owned: false, outcome: { status: 202, data: { status: 'in_progress', ...runId } } };
    }
    log.info('resuming a delivery left RECORDED', { deliveryId: delivery.id, ...runId });
    return { owned: true, record: existing };
  }

  async function refuse(
    delivery: Delivery,
    reason: string,
    extra: Record<string, unknown> = {},
  ): Promise<Outcome> {
    await store.updateDelivery(delivery.id, { state: 'REFUSED', reason });
    return { status: 200, data: { status: 'refused', reason, ...extra } };
  }

  /** Refusal for a trigger that was never claimed (bots): one conditional write. */
  async function recordRefusal(delivery: Delivery, reason: string): Promise<Outcome> {
    const claimed = await claim(delivery, { state: 'REFUSED', reason });
    if (!claimed.owned) return claimed.outcome;
    if (claimed.record.state === 'RECORDED') return refuse(delivery, reason);
    return { status: 200, data: { status: 'refused', reason } };
  }

  async function refuseWithoutPermission(
    delivery: Delivery,
    intent: StartIntent | Extract<Intent, { type: 'command' }>,
    permission: Permission,
  ): Promise<Outcome> {
    const reason = `@${intent.sender.login} has ${permission} permission on ${intent.repo}; write is required`;
    const onceKey = `refusal-comment:${intent.workItemKey}:${intent.sender.login}`.toLowerCase();
    if (!(await store.cacheGet(onceKey))) {
      await store.cachePut(onceKey, '1', REFUSAL_COMMENT_TTL_SECONDS);
      await comment(
        intent.repo,
        intent.issueNumber,
        `@${intent.sender.login} only people with write access to this repository can start or steer Code Factory runs, so this was ignored.`,
      );
    }
    return refuse(delivery, reason);
  }

  // ------------------------------------------------------------------------------------------
  // start
  // ------------------------------------------------------------------------------------------
  async function start(delivery: Delivery, intent: StartIntent): Promise<Outcome> {
    const source: Trigger['source'] =
      intent.type === 'labeled' ? 'label' : intent.command === 'retry' ? 'retry' : 'comment';
    const kind: RunKind = intent.type === 'labeled' ? 'change' : KIND_OF_COMMAND[intent.command as 'run'];
    if (isBotSender(intent.sender, config.factoryLogin)) {
      return recordRefusal(delivery, `sender ${intent.sender.login} is a bot`);
    }

    const claimed = await claim(delivery, { runId: ids.ulid() });
    if (!claimed.owned) return claimed.outcome;
    const runId = claimed.record.runId ?? ids.ulid();
    if (!claimed.record.runId) await store.updateDelivery(delivery.id, { runId });

    const permission = await permissionOf(intent.repo, intent.sender.login);
    if (!WRITERS.has(permission)) return refuseWithoutPermission(delivery, intent, permission);

    if (kind !== 'change' && !intent.isPull) {
      await comment(
        intent.repo,
        intent.issueNumber,
        `\`/factory ${intent.type === 'command' ? intent.command : ''}\` works on pull requests only.`,
      );
      return refuse(delivery, `${kind} needs a pull request`);
    }

    const admission = await admitToWorkItem(store, intent.workItemKey, runId);
    if (!admission.ok && admission.activeStatus) {
      await store.appendEvent(admission.activeRunId, {
        type: 'trigger.refused',
        actor: intent.sender.login,
        data: { deliveryId: delivery.id, event: delivery.event, reason: 'a run is already active' },
      });
      await comment(
        intent.repo,
        intent.issueNumber,
        `@${intent.sender.login} a Code Factory run is already active here (${admission.activeRunId}, ${admission.activeStatus}); use \`/factory cancel\` first.`,
      );
      return refuse(delivery, `run ${admission.activeRunId} is still ${admission.activeStatus}`, {
        activeRunId: admission.activeRunId,
      });
    }
    if (!admission.ok) {
      return refuse(delivery, `run ${admission.activeRunId} was started concurrently`, {
        activeRunId: admission.activeRunId,
      });
    }

    await startRun(
      { store, workflow, clock },
      {
        runId,
        kind,
        repo: intent.repo,
        workItemKey: intent.workItemKey,
        issueNumber: intent.issueNumber,
        ...(intent.title === undefined ? {} : { title: intent.title }),
        trigger: {
          source,
          sender: intent.sender.login.slice(0, 100),
          deliveryId: delivery.id,
          ...(intent.type === 'labeled'
            ? { command: `label:${intent.label}`.slice(0, 40) }
            : { command: intent.command }),
        },
        ...(admission.workItem ? { workItem: admission.workItem } : {}),
        eventData: { deliveryId: delivery.id, event: delivery.event },
      },
    );
    await store.updateDelivery(delivery.id, { state: 'STARTED', runId });
    return { status: 202, data: { status: 'started', runId } };
  }

  // ------------------------------------------------------------------------------------------
  // cancel
  // ------------------------------------------------------------------------------------------
  async function cancel(delivery: Delivery, intent: Extract<Intent, { type: 'command' }>): Promise<Outcome> {
    if (isBotSender(intent.sender, config.factoryLogin)) {
      return recordRefusal(delivery, `sender ${intent.sender.login} is a bot`);
    }
    const claimed = await claim(delivery, {});
    if (!claimed.owned) return claimed.outcome;
    const permission = await permissionOf(intent.repo, intent.sender.login);
    if (!WRITERS.has(permission)) return refuseWithoutPermission(delivery, intent, permission);

    const { runs } = await store.getWorkItemWithRuns(intent.workItemKey, { limit: 1 });
    const run = runs.items[0];
    if (!run || isTerminal(run.status)) return refuse(delivery, 'no active run to cancel');
    const runId = run.runId;
    // CANCELLED first, then stop, then clean up (functions/shared/cancel-run.ts): stopping first
    // would let the execution's end be recorded as a failure before the cancel is.
    await cancelRun({ store, workflow, github, log, now: iso }, runId, {
      actor: intent.sender.login,
      cause: `cancelled by @${intent.sender.login} with /factory cancel`,
      data: { deliveryId: delivery.id },
    });
    await store.updateDelivery(delivery.id, { state: 'RESUMED', runId, reason: 'cancel' });
    return { status: 200, data: { status: 'cancelled', runId } };
  }

  // ------------------------------------------------------------------------------------------
  // resumes
  // ------------------------------------------------------------------------------------------
  /**
   * Answers a pending wait exactly once: the task succeeds with `answer.output`, or fails with
   * `answer.error` (a pushed PR head ends an approval wait).
   */
  async function resume(
    delivery: Delivery,
    wait: PendingWait,
    answer: { output: unknown } | { error: string; cause: string },
  ): Promise<Outcome> {
    const claimed = await claim(delivery, { runId: wait.runId });
    if (!claimed.owned) return claimed.outcome;
    const taken = await store.takeWait(wait.kind, wait.key);
    if (!taken) {
      await store.updateDelivery(delivery.id, { state: 'IGNORED', reason: 'wait already resumed' });
      return { status: 200, data: { status: 'ignored', reason: 'wait already resumed' } };
    }
    let accepted: boolean;
    try {
      accepted =
        'error' in answer
          ? await workflow.sendTaskFailure(taken.taskToken, answer.error, answer.cause)
          : await workflow.sendTaskSuccess(taken.taskToken, answer.output);
    } catch (error) {
      // Give the wait back so a redelivery (or the next reply) can still resume the run.
      await store.putWait(taken);
      throw error;
    }
    if (!accepted) {
      await store.updateDelivery(delivery.id, { state: 'IGNORED', reason: 'task token no longer valid' });
      return { status: 200, data: { status: 'ignored', reason: 'task token no longer valid' } };
    }
    await store.updateDelivery(delivery.id, { state: 'RESUMED', runId: taken.runId });
    return { status: 200, data: { status: 'resumed', runId: taken.runId } };
  }

  async function reply(delivery: Delivery, intent: Extract<Intent, { type: 'reply' }>): Promise<Outcome> {
    if (isBotSender(intent.sender, config.factoryLogin)) return ignore('comment by a bot');
    const wait = await store.getWait('clarify', intent.workItemKey);
    if (!wait) return ignore('no clarification pending');
    const isAuthor = intent.sender.login.toLowerCase() === intent.issueAuthor.toLowerCase();
    if (!isAuthor && !WRITERS.has(await permissionOf(intent.repo, intent.sender.login))) {
      return ignore('reply by neither the issue author nor a writer');
    }
    return resume(delivery, wait, {
      output: { answer: { commentId: intent.commentId, author: intent.sender.login } },
    });
  }

  async function checksCompleted(
    delivery: Delivery,
    intent: Extract<Intent, { type: 'checks-completed' }>,
  ): Promise<Outcome> {
    const wait = await store.getWait('checks', checksWaitKeyOf(intent.repo, intent.sha));
    if (!wait) return ignore('no run waits on this commit');
    return resume(delivery, wait, { output: { sha: intent.sha, conclusion: intent.conclusion } });
  }

  /**
   * pull_request.synchronize on the PR of a run waiting for approval, to a head other than the one
   * the approvers were asked about: the approval no longer applies. The approval task fails with
   * HeadMoved (the run ends FAILED, its links dead), exactly once, whoever pushed.
   */
  async function headMoved(
    delivery: Delivery,
    intent: Extract<Intent, { type: 'head-moved' }>,
  ): Promise<Outcome> {
    const { runs } = await store.getWorkItemWithRuns(workItemKeyOf(intent.repo, intent.issueNumber), {
      limit: 1,
    });
    const run = runs.items[0];
    if (!run || run.prNumber !== intent.prNumber || run.status !== 'AWAITING_APPROVAL')
      return ignore('no run waits for approval on this pull request');
    if (run.headSha === intent.sha) return ignore('the head the approvers were asked about');
    const wait = await store.getWait('approval', run.runId);
    if (!wait || wait.runId !== run.runId) return ignore('no approval pending');
    const cause = `the pull request's head moved from ${run.headSha?.slice(0, 7)} to ${intent.sha.slice(0, 7)} (pushed by ${intent.sender.login}) while it waited for approval; comment /factory retry to start a new run`;
    return resume(delivery, wait, { error: 'HeadMoved', cause });
  }

  async function help(
    delivery: Delivery,
    intent: Extract<Intent, { type: 'unknown-command' }>,
  ): Promise<Outcome> {
    if (isBotSender(intent.sender, config.factoryLogin)) return ignore('comment by a bot');
    const reason = `unknown command ${intent.word || '(none)'}`;
    const claimed = await claim(delivery, { state: 'IGNORED', reason });
    if (!claimed.owned) return claimed.outcome;
    // Only people who may steer runs get an answer: anyone else could make the bot comment at will.
    const permission = await permissionOf(intent.repo, intent.sender.login);
    if (!WRITERS.has(permission)) {
      const refusal = `${reason} from @${intent.sender.login} (${permission} permission): not answered`;
      if (claimed.record.state === 'RECORDED')
        await store.updateDelivery(delivery.id, { state: 'IGNORED', reason: refusal });
      return { status: 200, data: { status: 'ignored', reason: refusal } };
    }
    const said = intent.word ? `\`/factory ${intent.word}\` is not a command I know.` : 'Which command?';
    await comment(intent.repo, intent.issueNumber, `@${intent.sender.login} ${said}\n\n${HELP_TEXT}`);
    if (claimed.record.state === 'RECORDED')
      await store.updateDelivery(delivery.id, { state: 'IGNORED', reason });
    return { status: 200, data: { status: 'ignored', reason } };
  }

  const ignore = (reason: string): Outcome => ({ status: 202, data: { status: 'ignored', reason } });

  async function route(delivery: Delivery, intent: Intent): Promise<Outcome> {
    switch (intent.type) {
      case 'ping':
        return { status: 200, data: { status: 'pong' } };
      case 'ignore':
        return ignore(intent.reason);
      case 'labeled': {
        const configured = (await triggerLabelOf(intent.repo)) || DEFAULT_TRIGGER_LABEL;
        if (intent.label.toLowerCase() !== configured.toLowerCase()) return ignore(`label ${intent.label}`);
        return start(delivery, intent);
      }
      case 'command':
        return intent.command === 'cancel' ? cancel(delivery, intent) : start(delivery, intent);
      case 'unknown-command':
        return help(delivery, intent);
      case 'reply':
        return reply(delivery, intent);
      case 'checks-completed':
        return checksCompleted(delivery, intent);
      case 'head-moved':
        return headMoved(delivery, intent);
    }
  }

  /** The whole ack path, without the middy chain (benchmarks and tests call it directly too). */
  return async function handleWebhook(event: APIGatewayProxyEventV2): Promise<HttpResult> {
    const requestId = requestIdOf(event);
    const startedAt = clock.now();
    if (rawBodyLength(event) > config.maxBodyBytes) {
      log.warn('webhook body too large', { requestId, bytes: rawBodyLength(event) });
      return errorResponse(413, 'PayloadTooLarge', `body exceeds ${config.maxBodyBytes} bytes`, requestId);
    }
    const signature = header(event, 'x-hub-signature-256');
    const bytes = rawBody(event);
    if (!signature?.startsWith('sha256=') || bytes.length === 0) {
      log.warn('webhook without a sha256 signature', { requestId });
      return errorResponse(401, 'Unauthorized', 'missing or unsupported signature', requestId);
    }
    const secret = await secrets.get(config.webhookSecretId);
    // The signature covers the bytes. verify() takes a string, which is exact only for valid
    // UTF-8 (a lenient decode would map other bytes to U+FFFD and verify a different body).
    const body = strictUtf8(bytes);
    const valid =
      body === undefined
        ? signedBytesMatch(secret, bytes, signature)
        : await verify(secret, body, signature).catch(() => false);
    if (valid && body === undefined) {
      return errorResponse(400, 'BadRequest', 'body is not UTF-8 JSON', requestId);
    }
    if (!valid || body === undefined) {
      log.warn('webhook signature mismatch', { requestId });
      metrics.addMetric('Webhook_unauthorized', 'Count', 1);
      return errorResponse(401, 'Unauthorized', 'signature does not match', requestId);
    }

    const eventName = header(event, 'x-github-event') ?? '';
    const deliveryId = header(event, 'x-github-delivery') ?? '';
    if (!EVENT_NAME.test(eventName) || !DELIVERY_ID.test(deliveryId)) {
      return errorResponse(
        400,
        'BadRequest',
        'missing or malformed X-GitHub-Event / X-GitHub-Delivery',
        requestId,
      );
    }
    let payload: unknown;
    try {
      payload = JSON.parse(body);
    } catch {
      return errorResponse(400, 'BadRequest', 'body is not JSON', requestId);
    }
    const action = (payload as { action?: unknown } | null)?.action;
    const delivery: Delivery = {
      id: deliveryId,
      event: typeof action === 'string' ? `${eventName}.${action}`.slice(0, 100) : eventName,
    };
    const intent = classify(eventName, payload);
    const outcome = await route(delivery, intent);
    metrics.addMetric(`Webhook_${String(outcome.data.status)}`, 'Count', 1);
    log.info('webhook handled', {
      requestId,
      deliveryId,
      event: delivery.event,
      outcome: outcome.data.status,
      reason: outcome.data.reason,
      runId: outcome.data.runId,
      ms: clock.now() - startedAt,
    });
    return jsonResponse(outcome.status, { deliveryId, ...outcome.data }, requestId);
  };
}

/** The Lambda handler: the core inside the shared middy chain. */
export function createWebhookHandler(ports: WebhookPorts) {
  const core = createWebhookCore(ports);
  const handler = withHttpMiddleware(core);
  return handler as unknown as (
    event: APIGatewayProxyEventV2,
    context: Context,
  ) => Promise<APIGatewayProxyStructuredResultV2>;
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : 'Error';
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function strictUtf8(bytes: Uint8Array): string | undefined {
  try {
    return utf8.decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * Only for bodies that are not UTF-8 (never GitHub's), so a correctly signed one is told 400
 * rather than 401: the same HMAC-SHA256 as verify(), over the raw bytes, compared in constant time.
 */
function signedBytesMatch(secret: string, bytes: Uint8Array, signature: string): boolean {
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(bytes).digest('hex')}`);
  const given = Buffer.from(signature);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
