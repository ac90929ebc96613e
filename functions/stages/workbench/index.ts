/**
 * The workbench: the model's workspace tools over a base tree on disk plus an overlay of pending
 * changes (docs/agent.md). A stage builds a Workspace, offers WORKBENCH_TOOLS (or only the read
 * tools) to the model, and answers each tool call with runWorkbenchTool; isErrorText sets the
 * tool result's is_error flag.
 */
export { BaseTree } from './base-tree';
export {
  RUN_TOOL,
  type ToolDefinition,
  WORKBENCH_READ_TOOLS,
  WORKBENCH_TOOLS,
  WORKBENCH_WRITE_TOOLS,
} from './definitions';
export { type RunOptions, runWorkbenchTool, WORKBENCH_TOOL_NAMES, type WorkbenchToolName } from './dispatch';
export { isErrorText, MAX_OUTPUT_CHARS } from './output';
export { MemoryOverlay, type Overlay, type PendingChange } from './overlay';
export { Workspace, type WorkspaceOptions } from './workspace';
