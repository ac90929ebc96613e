import * as z from 'zod';
import { WORKBENCH_READ_TOOLS } from './definitions';
import { bound, fail } from './output';
import type { Workspace } from './workspace';

/**
 * runWorkbenchTool: one tool call of the model against a workspace. The input is validated with
 * zod; a bad input, an unknown tool, or even an unexpected failure comes back as an error text
 * (starting with `Error: `; see isErrorText) for the model, never as an exception. The answer is
 * bounded to MAX_OUTPUT_CHARS.
 */

/** Models sometimes send numbers and booleans as strings: "10", "true". */
const int = (min: number, max = Number.MAX_SAFE_INTEGER) =>
  z.preprocess(
    (value) => (typeof value === 'string' && /^\s*\d+\s*$/.test(value) ? Number(value) : value),
    z.number().int().min(min).max(max),
  );
const bool = () =>
  z.preprocess((value) => (value === 'true' ? true : value === 'false' ? false : value), z.boolean());
const text = (max: number) => z.string().max(max);

const SCHEMAS = {
  read_file: z.strictObject({ path: text(1024), offset: int(1).optional(), limit: int(1).optional() }),
  grep: z.strictObject({
    pattern: text(1000).min(1),
    path: text(1024).optional(),
    glob: text(200).optional(),
    ignore_case: bool().optional(),
    output_mode: z.enum(['files_with_matches', 'content', 'count']).optional(),
    context: int(0, 20).optional(),
    head_limit: int(1).optional(),
  }),
  glob: z.strictObject({ pattern: text(200).min(1), path: text(1024).optional() }),
  list_files: z.strictObject({ path: text(1024).optional() }),
  diff: z.strictObject({ path: text(1024).optional() }),
  write_file: z.strictObject({ path: text(1024), content: z.string() }),
  edit_file: z.strictObject({
    path: text(1024),
    old_text: z.string(),
    new_text: z.string(),
    replace_all: bool().optional(),
  }),
  delete_file: z.strictObject({ path: text(1024) }),
  revert_file: z.strictObject({ path: text(1024) }),
} as const;

export type WorkbenchToolName = keyof typeof SCHEMAS;
export const WORKBENCH_TOOL_NAMES = Object.keys(SCHEMAS) as WorkbenchToolName[];
const READ_ONLY = new Set(WORKBENCH_READ_TOOLS.map((tool) => tool.name));

export interface RunOptions {
  /** false in read-only stages (plan, review): the write tools answer with an error. */
  allowWrites?: boolean;
}

export async function runWorkbenchTool(
  workspace: Workspace,
  name: string,
  input: unknown,
  options: RunOptions = {},
): Promise<string> {
  if (!Object.hasOwn(SCHEMAS, name)) {
    return fail(`unknown tool ${JSON.stringify(name)}; the tools are ${WORKBENCH_TOOL_NAMES.join(', ')}`);
  }
  const tool = name as WorkbenchToolName;
  if (options.allowWrites === false && !READ_ONLY.has(tool))
    return fail(`${tool} is not available in this stage`);
  const parsed = SCHEMAS[tool].safeParse(input ?? {});
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const where = issue.path.length > 0 ? issue.path.join('.') : 'input';
      return `${where}: ${issue.message}`;
    });
    return fail(`invalid input for ${tool}: ${problems.join('; ')}`);
  }
  try {
    // SCHEMAS[tool] parsed the input, so it is the one CALLS[tool] takes.
    const call = CALLS[tool] as (workspace: Workspace, input: unknown) => Promise<string>;
    return bound(await call(workspace, parsed.data));
  } catch (error) {
    return fail(`${tool} failed unexpectedly: ${error instanceof Error ? error.message : String(error)}`);
  }
}

type ToolCall<T extends WorkbenchToolName> = (
  workspace: Workspace,
  input: z.infer<(typeof SCHEMAS)[T]>,
) => Promise<string>;

const CALLS: { [T in WorkbenchToolName]: ToolCall<T> } = {
  read_file: (workspace, input) => workspace.readFile(input),
  grep: (workspace, input) => workspace.grep(input),
  glob: (workspace, input) => workspace.glob(input),
  list_files: (workspace, input) => workspace.listFiles(input),
  diff: (workspace, input) => workspace.diff(input),
  write_file: (workspace, input) => workspace.writeFile(input),
  edit_file: (workspace, input) => workspace.editFile(input),
  delete_file: (workspace, input) => workspace.deleteFile(input),
  revert_file: (workspace, input) => workspace.revertFile(input),
};
