import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import type { ToolDefinition } from './workbench';

/**
 * A tool call's input checked against the JSON schema the model was given for that tool, before
 * anything runs: a malformed input is answered with what is wrong (an is_error tool_result), never
 * thrown. Integers and booleans sent as strings are coerced, as the workbench accepts them.
 */

const ajv = new Ajv({ allErrors: true, coerceTypes: true, strict: false });
const compiled = new WeakMap<object, ValidateFunction>();
const MAX_PROBLEMS = 10;

function describe(error: ErrorObject): string {
  const where = error.instancePath ? error.instancePath.slice(1).replaceAll('/', '.') : 'input';
  const extra = (error.params as { additionalProperty?: string }).additionalProperty;
  return `${where}: ${error.message ?? 'is invalid'}${extra ? ` (${JSON.stringify(extra)})` : ''}`;
}

/** The error text for the model, or undefined when the input fits (or the tool is unknown). */
export function toolInputError(
  tools: readonly ToolDefinition[],
  name: string,
  input: unknown,
): string | undefined {
  const tool = tools.find((t) => t.name === name);
  if (!tool) return undefined; // the dispatcher answers unknown tools
  let validate = compiled.get(tool.input_schema);
  if (!validate) {
    try {
      validate = ajv.compile(tool.input_schema);
    } catch {
      return undefined; // a schema ajv cannot read: the tool's own checks still apply
    }
    compiled.set(tool.input_schema, validate);
  }
  if (validate(input)) return undefined;
  const problems = (validate.errors ?? []).slice(0, MAX_PROBLEMS).map(describe);
  return `Error: invalid input for ${name}, it was not run: ${problems.join('; ')}. Call it again with an input that fits its schema.`;
}
