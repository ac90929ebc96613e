import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SAMPLE_FILES } from '../local/forge/sample';
import {
  INDEX_PATH,
  SLUGIFY_EXPORT_LINE,
  SLUGIFY_PATH,
  SLUGIFY_SOURCE,
  SLUGIFY_TEST_PATH,
  SLUGIFY_TEST_SOURCE,
} from '../local/model/sample-code';
import { LocalSandbox } from '../local/sandbox/runner';
import { median, round } from './stats';

export interface SandboxBench {
  /** Whether the runner was bubblewrap (false: unisolated, bubblewrap unavailable). */
  isolated: boolean;
  /** `node --test` on the sample with the demo's change: copy, isolate, run, tear down (median). */
  roundTripMs: number;
  minMs: number;
  maxMs: number;
  samples: number;
}

/** The local sandbox round trip for the sample's `node --test` (SPEC §8), as the demo runs it. */
export async function benchSandbox(options: { samples?: number } = {}): Promise<SandboxBench> {
  const samples = options.samples ?? 9;
  const base = mkdtempSync(path.join(tmpdir(), 'bench-sandbox-'));
  try {
    for (const [file, content] of Object.entries(SAMPLE_FILES)) {
      mkdirSync(path.dirname(path.join(base, file)), { recursive: true });
      writeFileSync(path.join(base, file), content);
    }
    const sandbox = new LocalSandbox({ allowUnsafe: true });
    const request = {
      workspace: {
        baseDir: base,
        files: [
          { path: SLUGIFY_PATH, content: SLUGIFY_SOURCE },
          { path: SLUGIFY_TEST_PATH, content: SLUGIFY_TEST_SOURCE },
          { path: INDEX_PATH, content: `${SAMPLE_FILES[INDEX_PATH]}\n${SLUGIFY_EXPORT_LINE}\n` },
        ],
      },
      command: 'node --test',
      timeoutSeconds: 60,
      network: false,
    };
    const times: number[] = [];
    for (let i = 0; i < samples; i++) {
      const started = performance.now();
      const result = await sandbox.run(request);
      times.push(performance.now() - started);
      if (result.exitCode !== 0)
        throw new Error(`node --test failed in the sandbox:\n${result.head}${result.tail}`);
    }
    return {
      isolated: sandbox.isolation().isolated,
      roundTripMs: round(median(times), 0),
      minMs: round(Math.min(...times), 0),
      maxMs: round(Math.max(...times), 0),
      samples,
    };
  } finally {
    rmSync(base, { recursive: true, force: true });
  }
}
