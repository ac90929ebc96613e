import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The dependency rule (docs/architecture.md) is enforced by Biome's noRestrictedImports, set in
 * biome.json's overrides. These cases lint probe files laid out like the repository, in a temporary
 * copy of it that holds only biome.json and .gitignore: nothing is written into the working tree,
 * so a parallel `npm test`, `tsc` or `biome check .` never sees a probe. (Biome's
 * `--stdin-file-path` prints no lint diagnostics, so it cannot be used instead.)
 */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BIOME = join(ROOT, 'node_modules', '@biomejs', 'biome', 'bin', 'biome');
const RULE = 'lint/style/noRestrictedImports';

const OUTSIDE = 'functions/ never imports local/';
const SIBLING = 'A Lambda folder is self-contained';
const CDK = 'Runtime code never imports CDK';
const ZOD = "Use `import * as z from 'zod'`";

const importing = (source: string) => `import { a } from '${source}';\nexport const b = a;\n`;
const zodNamed = "import { z } from 'zod';\nexport const s = z.string();\n";
const zodNamespace = "import * as z from 'zod';\nexport const s = z.string();\n";

/** [folder, import source, the message the linter must fail it with] */
const FORBIDDEN: Array<[string, string, string]> = [
  ['functions/stages', '../../local/stack', OUTSIDE],
  ['functions/stages', '../../local', OUTSIDE],
  ['functions/stages', '../../lib/config', OUTSIDE],
  ['functions/shared', '../../local/stack', OUTSIDE],
  ['functions/shared/domain', '../../../lib/constructs/email', OUTSIDE],
  ['functions/stages', '../webhook/app', SIBLING],
  ['functions/stages', '../approvals/links', SIBLING],
  ['functions/approvals', '../stages/deps', SIBLING],
  ['functions/llm-dlq', '../llm-worker/turn', SIBLING],
  ['functions/webhook', '../api', SIBLING],
  ['functions/copilot', '../stages/tool-input', SIBLING],
  ['functions/api/routes', '../../copilot/loop', SIBLING],
  ['functions/stages', '../../functions/webhook/triggers', SIBLING],
  ['functions/api/routes', '../../stages/deps', SIBLING],
  ['functions/shared', '../llm-dlq/app', SIBLING],
  ['functions/shared/domain', '../../webhook/triggers', SIBLING],
  ['functions/stages', 'aws-cdk-lib', CDK],
  ['functions/shared', 'aws-cdk-lib/aws-lambda', CDK],
  ['functions/stages', 'constructs', CDK],
  ['functions/stages', 'cdk-nag', CDK],
  ['local', 'aws-cdk-lib', CDK],
  ['local/console', 'constructs', CDK],
  ['cli/commands', 'cdk-nag', CDK],
];

/** Other import forms of a sibling Lambda, from functions/stages/. */
const FORBIDDEN_FORMS = [
  "export { a } from '../webhook/app';\n",
  "export * from '../webhook/app';\n",
  "import type { A } from '../webhook/app';\nexport type B = A;\n",
  "export const load = () => import('../webhook/app');\n",
  "import '../webhook/app';\n",
];

/** [folder, import source] that stay allowed. */
const ALLOWED: Array<[string, string]> = [
  ['functions/stages', '../shared/errors'],
  ['functions/stages', './deps'],
  ['functions/stages', '@aws-sdk/lib-dynamodb'],
  ['functions/shared', './errors'],
  ['functions/shared', './domain/run'],
  ['functions/shared/domain', '../ports'],
  ['functions/api/routes', '../../shared/http'],
  ['functions/api/routes', '../context'],
  ['local', '../functions/stages/app'],
  ['local/console', '../../functions/shared/html'],
  ['lib', 'aws-cdk-lib'],
  ['lib/constructs', 'constructs'],
];

/** Overrides replace a rule's options, so each one must repeat the zod restriction. */
const ZOD_FOLDERS = ['functions/stages', 'functions/shared', 'local', 'cli', 'lib', 'test/unit'];

interface Diagnostic {
  category: string;
  message: string;
  location: { path: string };
}

let dir: string;
let probes = 0;
const probe = new Map<string, string>();
let diagnostics: Diagnostic[] = [];

/** Writes `code` as a new module in `folder` of the copy and returns its path there. */
function write(folder: string, code: string): string {
  const file = `${folder}/probe-${++probes}.ts`;
  mkdirSync(dirname(join(dir, file)), { recursive: true });
  writeFileSync(join(dir, file), code);
  return file;
}

function biome(...args: string[]): { status: number | null; stdout: string; output: string } {
  const result = spawnSync(process.execPath, [BIOME, ...args], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, output: `${result.stdout}${result.stderr}` };
}

const diagnosticsOf = (file: string | undefined) => diagnostics.filter((d) => d.location.path === file);

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cf-folder-rules-'));
  copyFileSync(join(ROOT, 'biome.json'), join(dir, 'biome.json'));
  copyFileSync(join(ROOT, '.gitignore'), join(dir, '.gitignore'));
  for (const [folder, source] of [...FORBIDDEN, ...ALLOWED]) {
    probe.set(`${folder} ${source}`, write(folder, importing(source)));
  }
  for (const code of FORBIDDEN_FORMS) probe.set(code, write('functions/stages', code));
  for (const folder of ZOD_FOLDERS) {
    probe.set(`${folder} zod named`, write(folder, zodNamed));
    probe.set(`${folder} zod namespace`, write(folder, zodNamespace));
  }
  // One run over every probe: the JSON report says which file failed on what.
  const run = biome('lint', '--reporter=json', '--max-diagnostics=none', '.');
  diagnostics = (JSON.parse(run.stdout) as { diagnostics: Diagnostic[] }).diagnostics;
});
afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('the linter enforces the dependency rule', () => {
  it('fails `biome lint` on a Lambda file that imports local/, naming the rule', () => {
    const result = biome('lint', '--colors=off', write('functions/stages', importing('../../local/stack')));
    expect(result.status).not.toBe(0);
    expect(result.output).toContain(RULE);
    expect(result.output).toContain(OUTSIDE);
  });

  it('passes `biome lint` on a Lambda file that imports functions/shared/', () => {
    const result = biome('lint', '--colors=off', write('functions/stages', importing('../shared/errors')));
    expect(result.output).not.toContain(RULE);
    expect(result.status).toBe(0);
  });

  it.each(FORBIDDEN)('fails %s/… importing %s', (folder, source, message) => {
    expect(diagnosticsOf(probe.get(`${folder} ${source}`))).toEqual([
      expect.objectContaining({ category: RULE, message: expect.stringContaining(message) }),
    ]);
  });

  it.each(FORBIDDEN_FORMS)(
    'fails a re-export, type-only, dynamic or bare import of a sibling: %j',
    (code) => {
      expect(diagnosticsOf(probe.get(code))).toEqual([
        expect.objectContaining({ category: RULE, message: expect.stringContaining(SIBLING) }),
      ]);
    },
  );

  it.each(ALLOWED)('passes %s/… importing %s', (folder, source) => {
    expect(probe.get(`${folder} ${source}`)).toBeDefined();
    expect(diagnosticsOf(probe.get(`${folder} ${source}`))).toEqual([]);
  });

  it.each(ZOD_FOLDERS)('keeps the zod rule in %s', (folder) => {
    expect(diagnosticsOf(probe.get(`${folder} zod named`))).toEqual([
      expect.objectContaining({ category: RULE, message: expect.stringContaining(ZOD) }),
    ]);
    expect(diagnosticsOf(probe.get(`${folder} zod namespace`))).toEqual([]);
  });
});
