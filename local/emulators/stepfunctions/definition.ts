import type { StateMachineDefinition } from 'aws-local-stepfunctions';
import { type BoundResource, bindResource } from './integrations';

/**
 * Getting a definition ready for the local engine: placeholders substituted, every Task state's
 * spec (resource, timeouts) collected, and the library's gaps against AWS closed in the copy it runs.
 */

/** setTimeout overflows past 2^31-1 ms (~24.8 days) and would fire at once: longer waits are clamped. */
const MAX_TIMER_SECONDS = Math.floor(0x7fffffff / 1000);

/**
 * aws-local-stepfunctions evaluates TimeoutSecondsPath against the Task's Parameters output, not
 * its input as AWS does. The engine rewrites each such path into a Parameters field (evaluated
 * against the state input, as on AWS) and points the path at it; the field is removed again
 * before the integration sees the Parameters.
 */
const TIMEOUT_FIELD = '__localTimeoutSeconds';
const HEARTBEAT_FIELD = '__localHeartbeatSeconds';

/**
 * Replaces every `${Name}` in ASL text with its value (JSON-string escaped, as the placeholders
 * sit inside JSON strings). Throws when a placeholder has no value: a half-substituted state
 * machine must never run.
 */
export function substitute(asl: string, values: Record<string, string>): string {
  const missing = new Set<string>();
  const text = asl.replace(/\$\{([A-Za-z0-9_]+)\}/g, (placeholder, name: string) => {
    const value = values[name];
    if (value === undefined) missing.add(name);
    return value === undefined ? placeholder : JSON.stringify(value).slice(1, -1);
  });
  if (missing.size > 0) throw new Error(`unresolved ASL placeholders: ${[...missing].join(', ')}`);
  return text;
}

export type AslState = Record<string, unknown> & { Type?: string };
export interface TaskSpec {
  resource: string;
  bound: BoundResource | undefined;
  timeoutSeconds?: number;
  heartbeatSeconds?: number;
  /** TimeoutSecondsPath / HeartbeatSecondsPath, resolved through injected Parameters fields. */
  timeoutFromInput?: boolean;
  heartbeatFromInput?: boolean;
}

/**
 * A copy of the definition the engine can run, and every Task state's spec (by name: the engine's
 * override table is flat across Parallel branches and Map iterators, so names must be unique).
 * Tasks without TimeoutSeconds get the longest safe timer instead of the engine's silent 60 s
 * default (AWS has no short default); longer timeouts are clamped to what setTimeout can hold.
 */
export function prepareDefinition(
  definition: StateMachineDefinition,
  tasks: Map<string, TaskSpec>,
): StateMachineDefinition {
  const copy = JSON.parse(JSON.stringify(definition)) as StateMachineDefinition & Record<string, unknown>;
  if (copy.TimeoutSeconds !== undefined) copy.TimeoutSeconds = clampSeconds(copy.TimeoutSeconds);
  visitStates(copy.States as unknown as Record<string, AslState>, tasks);
  return copy;
}

const clampSeconds = (value: unknown): number | undefined =>
  typeof value === 'number' ? Math.min(value, MAX_TIMER_SECONDS) : undefined;

function visitStates(states: Record<string, AslState>, tasks: Map<string, TaskSpec>): void {
  for (const [name, state] of Object.entries(states)) {
    if (state.Type === 'Task') {
      if (tasks.has(name)) {
        throw new Error(`Task state name '${name}' is used twice; the local engine needs unique names`);
      }
      const timeoutSeconds = clampSeconds(state.TimeoutSeconds);
      const heartbeatSeconds = clampSeconds(state.HeartbeatSeconds);
      const timeoutPath = typeof state.TimeoutSecondsPath === 'string' ? state.TimeoutSecondsPath : undefined;
      const heartbeatPath =
        typeof state.HeartbeatSecondsPath === 'string' ? state.HeartbeatSecondsPath : undefined;
      if (timeoutPath || heartbeatPath) {
        const parameters = state.Parameters;
        if (parameters === null || typeof parameters !== 'object' || Array.isArray(parameters)) {
          throw new Error(
            `Task state '${name}': a *SecondsPath needs an object of Parameters in the local engine`,
          );
        }
        const fields = parameters as Record<string, unknown>;
        if (timeoutPath) {
          fields[`${TIMEOUT_FIELD}.$`] = timeoutPath;
          state.TimeoutSecondsPath = `$.${TIMEOUT_FIELD}`;
        }
        if (heartbeatPath) {
          fields[`${HEARTBEAT_FIELD}.$`] = heartbeatPath;
          delete state.HeartbeatSecondsPath;
        }
      }
      const resource = String(state.Resource);
      tasks.set(name, {
        resource,
        bound: bindResource(resource),
        ...(timeoutSeconds !== undefined && { timeoutSeconds }),
        ...(heartbeatSeconds !== undefined && { heartbeatSeconds }),
        ...(timeoutPath !== undefined && { timeoutFromInput: true }),
        ...(heartbeatPath !== undefined && { heartbeatFromInput: true }),
      });
      if (!timeoutPath) state.TimeoutSeconds = timeoutSeconds ?? MAX_TIMER_SECONDS;
    }
    for (const branch of (state.Branches as Array<{ States: Record<string, AslState> }> | undefined) ?? []) {
      visitStates(branch.States, tasks);
    }
    for (const key of ['Iterator', 'ItemProcessor'] as const) {
      const nested = state[key] as { States?: Record<string, AslState> } | undefined;
      if (nested?.States) visitStates(nested.States, tasks);
    }
  }
}

/**
 * The Task's effective timeouts and its Parameters without the injected path fields. A resolved
 * TimeoutSecondsPath is clamped in place: the engine reads the same object right after this
 * handler returns, and setTimeout would fire at once on an overflowing value.
 */
export function resolveTimeouts(
  task: TaskSpec,
  input: unknown,
): { parameters: unknown; timeoutSeconds?: number; heartbeatSeconds?: number } {
  let timeoutSeconds = task.timeoutSeconds;
  let heartbeatSeconds = task.heartbeatSeconds;
  if (!(task.timeoutFromInput || task.heartbeatFromInput) || input === null || typeof input !== 'object') {
    return { parameters: input, timeoutSeconds, heartbeatSeconds };
  }
  const fields = input as Record<string, unknown>;
  const positive = (value: unknown) =>
    typeof value === 'number' && value >= 1 ? Math.min(Math.floor(value), MAX_TIMER_SECONDS) : undefined;
  if (task.timeoutFromInput) {
    timeoutSeconds = positive(fields[TIMEOUT_FIELD]);
    if (timeoutSeconds !== undefined) fields[TIMEOUT_FIELD] = timeoutSeconds;
  }
  if (task.heartbeatFromInput) heartbeatSeconds = positive(fields[HEARTBEAT_FIELD]);
  const { [TIMEOUT_FIELD]: _timeout, [HEARTBEAT_FIELD]: _heartbeat, ...parameters } = fields;
  return { parameters, timeoutSeconds, heartbeatSeconds };
}
