import type { Run } from '../shared/domain/run';
import { redactSecrets } from '../shared/domain/secret-scan';
import type { IssueInfo } from '../shared/ports';
import type { StagePorts } from './deps';

/**
 * Issue, task and comment text with its secrets redacted (`[REDACTED:<rule>]`) before it reaches a
 * prompt or the run record. Each redaction is a `secrets.redacted` audit event naming where and
 * which kinds, never the value.
 */

export type RedactionSource = 'issue' | 'task' | 'comment' | 'ci-log';

export async function redactText(
  deps: Pick<StagePorts, 'store'>,
  run: Pick<Run, 'runId' | 'stage'>,
  source: RedactionSource,
  fields: Record<string, string>,
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const redacted: string[] = [];
  const kinds = new Set<string>();
  for (const [name, value] of Object.entries(fields)) {
    const result = redactSecrets(value);
    out[name] = result.text;
    if (result.findings.length === 0) continue;
    redacted.push(name);
    for (const finding of result.findings) {
      kinds.add(finding.encoding ? `${finding.id} (${finding.encoding})` : finding.id);
    }
  }
  if (redacted.length > 0) {
    await deps.store.appendEvent(run.runId, {
      type: 'secrets.redacted',
      actor: 'stage-runner',
      data: { source, fields: redacted, kinds: [...kinds].sort(), stage: run.stage },
    });
  }
  return out;
}

/** The work item (issue or API task) with its title and body redacted. */
export async function redactWork(
  deps: Pick<StagePorts, 'store'>,
  run: Run,
  work: IssueInfo,
): Promise<IssueInfo> {
  const redacted = await redactText(deps, run, work.number ? 'issue' : 'task', {
    title: work.title,
    body: work.body ?? '',
  });
  return { ...work, title: redacted.title ?? work.title, body: redacted.body ?? '' };
}
