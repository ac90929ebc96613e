import * as z from 'zod';
import type { Run } from '../shared/domain/run';
import type { RunContract } from '../shared/run-contract';
import { DETECTION_FILES, detectEnvironment, type RepoRoot } from './detect-checks';
import type { StagePorts } from './deps';
import { workspaceOf } from './workspace';

/**
 * The sandbox environment a run uses: the one its `.github/factory.yml` declares, or, when that
 * declares neither setup nor checks, one detected from the base snapshot's root (detect-checks.ts).
 * Detected once per run, kept next to the run's sandbox files and recorded as the event
 * `sandbox.checks-detected`. Detected checks are advice only (decision 0005): `detected` says so.
 */
export type SandboxEnvironment = RunContract['environment'] & { detected: boolean };

const Detected = z.object({
  setup: z.array(z.string()),
  checks: z.array(z.string()),
  from: z.array(z.string()),
});
const detectedKey = (runId: string) => `sandbox/${runId}/detected.json`;

export async function sandboxEnvironmentOf(deps: StagePorts, run: Run): Promise<SandboxEnvironment> {
  const declared = deps.contractOf(run).environment;
  if (declared.setup.length > 0 || declared.checks.length > 0) return { ...declared, detected: false };
  const stored = await deps.blobs.get(detectedKey(run.runId));
  let detected: z.infer<typeof Detected>;
  if (stored) detected = Detected.parse(JSON.parse(new TextDecoder().decode(stored)));
  else {
    detected = detectEnvironment(await rootOf(deps, run)) ?? { setup: [], checks: [], from: [] };
    if (detected.checks.length > 0)
      await deps.store.appendEvent(run.runId, {
        type: 'sandbox.checks-detected',
        actor: 'factory',
        data: { setup: detected.setup, checks: detected.checks, from: detected.from },
      });
    await deps.blobs.put(
      detectedKey(run.runId),
      new TextEncoder().encode(JSON.stringify(detected)),
      'application/json',
    );
  }
  return {
    ...declared,
    setup: detected.setup,
    checks: detected.checks,
    detected: detected.checks.length > 0,
  };
}

/** The base snapshot's root: the detection files' texts and the root entries' names. */
async function rootOf(deps: StagePorts, run: Run): Promise<RepoRoot> {
  const snapshot = await (await workspaceOf(deps, run)).snapshot();
  const names = new Set(snapshot.index.paths.map((path) => path.split('/')[0] as string));
  const files: RepoRoot['files'] = {};
  for (const name of DETECTION_FILES) {
    if (!names.has(name)) continue;
    const body = await snapshot.baseBody(name);
    if (body?.kind === 'text') files[name] = body.text;
  }
  return { files, names };
}
