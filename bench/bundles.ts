import { spawn } from 'node:child_process';
import { mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { median } from './stats';

/**
 * Each Lambda bundle built as lib/constructs/node-function.ts has NodejsFunction build it (ESM,
 * minified, node22, `@aws-sdk/*` external, the createRequire banner), its size against SPEC §8,
 * and its cold import time in a fresh `node` (median of a few). The bundles are written under the
 * repository (`.scratch-bench/`, git-ignored) so the external AWS SDK resolves from node_modules,
 * as the Lambda runtime provides it.
 */

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const OUT_DIR = path.join(ROOT, '.scratch-bench', 'bundles');
export const FUNCTIONS = ['webhook', 'api', 'approvals', 'stages', 'llm-worker', 'llm-dlq'] as const;
export const BUNDLE_LIMIT_BYTES = 1024 * 1024;
export const WEBHOOK_BUNDLE_LIMIT_BYTES = 300 * 1024;
const ESM_REQUIRE_BANNER =
  "import { createRequire as __factoryCreateRequire } from 'node:module'; const require = __factoryCreateRequire(import.meta.url);";

/** The environment contract with placeholder values: enough for module scope to build its clients. */
export const HANDLER_ENV: Record<string, string> = {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'bench',
  AWS_SECRET_ACCESS_KEY: 'bench',
  TABLE_NAME: 'code-factory',
  STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:000000000000:stateMachine:code-factory-pipeline',
  LLM_QUEUE_URL: 'http://127.0.0.1:9/000000000000/code-factory-llm',
  WORKSPACE_BUCKET: 'code-factory-workspaces',
  WEBHOOK_SECRET_ID: 'code-factory/webhook-secret',
  GITHUB_SECRET_ID: 'code-factory/github',
  ANTHROPIC_SECRET_ID: 'code-factory/anthropic-api-key',
  APPROVAL_KEY_SECRET_ID: 'code-factory/approval-signing-key',
  PUBLIC_BASE_URL: 'https://factory.example.com',
  MAIL_FROM: 'factory@example.com',
  POWERTOOLS_SERVICE_NAME: 'code-factory',
  POWERTOOLS_METRICS_NAMESPACE: 'CodeFactory',
  POWERTOOLS_LOG_LEVEL: 'INFO',
};

export interface BundleFigure {
  name: string;
  bytes: number;
  limitBytes: number;
  withinLimit: boolean;
  coldImportMs: number;
  coldImportSamplesMs: number[];
}

function importOnce(file: string, timeoutMs = 20_000): Promise<number> {
  const script = `const t = performance.now(); await import(${JSON.stringify(pathToFileURL(file).href)}); process.stdout.write(String(performance.now() - t));`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      env: { PATH: process.env.PATH ?? '', ...HANDLER_ENV },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      const ms = Number(out.trim());
      if (code === 0 && Number.isFinite(ms)) resolve(ms);
      else
        reject(
          new Error(`importing ${path.basename(path.dirname(file))} failed (${code}): ${err.slice(0, 400)}`),
        );
    });
  });
}

export async function benchBundles(options: { importSamples: number }): Promise<BundleFigure[]> {
  await rm(OUT_DIR, { recursive: true, force: true });
  const figures: BundleFigure[] = [];
  for (const name of FUNCTIONS) {
    const outfile = path.join(OUT_DIR, name, 'index.mjs');
    await mkdir(path.dirname(outfile), { recursive: true });
    await build({
      entryPoints: [path.join(ROOT, 'functions', name, 'handler.ts')],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node22',
      mainFields: ['module', 'main'],
      banner: { js: ESM_REQUIRE_BANNER },
      minify: true,
      sourcemap: false,
      external: ['@aws-sdk/*'],
      logLevel: 'error',
    });
    const bytes = (await stat(outfile)).size;
    const limitBytes = name === 'webhook' ? WEBHOOK_BUNDLE_LIMIT_BYTES : BUNDLE_LIMIT_BYTES;
    const samples: number[] = [];
    for (let i = 0; i < options.importSamples; i++) samples.push(await importOnce(outfile));
    figures.push({
      name,
      bytes,
      limitBytes,
      withinLimit: bytes <= limitBytes,
      coldImportMs: median(samples),
      coldImportSamplesMs: samples,
    });
  }
  return figures;
}
