/**
 * Compiler and linter diagnostics. tsc (`file(line,col): error TS2322: message`, and the `--pretty`
 * layout `file:line:col - error TS2322: message`), ESLint's stylish formatter (a file line, then
 * `  line:col  error  message  rule`), and Biome (`file:line:col lint/group/rule ━━━` then `× message`).
 * Errors only: warnings do not fail a build.
 */
import { type Failure, indentOf, MAX_FAILURES } from './lines';

const TSC = /^([^\s()][^()]*)\((\d+),(\d+)\): error (TS\d+): (.*)$/;
const TSC_PRETTY = /^([^\s:]+):(\d+):(\d+) - error (TS\d+): (.*)$/;
const TSC_GLOBAL = /^error (TS\d+): (.*)$/;

export function parseTsc(lines: readonly string[]): Failure[] {
  const failures: Failure[] = [];
  for (const line of lines) {
    if (failures.length >= MAX_FAILURES) break;
    if (!line.includes('error TS')) continue;
    const m = TSC.exec(line) ?? TSC_PRETTY.exec(line);
    if (m) {
      failures.push({
        id: `${m[1]} ${m[4]}`,
        message: m[5]!,
        location: `${m[1]}:${m[2]}:${m[3]}`,
        runner: 'tsc',
      });
      continue;
    }
    const g = TSC_GLOBAL.exec(line);
    if (g) failures.push({ id: g[1]!, message: g[2]!, runner: 'tsc' });
  }
  return failures;
}

const ESLINT_ROW = /^\s+(\d+):(\d+)\s+error\s+(.*)$/;

export function parseEslint(lines: readonly string[]): Failure[] {
  const failures: Failure[] = [];
  let file: string | undefined;
  for (const line of lines) {
    if (failures.length >= MAX_FAILURES) break;
    if (line.trim() === '') continue;
    if (indentOf(line) === 0) {
      file = line.trim();
      continue;
    }
    const m = file === undefined ? null : ESLINT_ROW.exec(line);
    if (!m) continue;
    const rest = m[3]!.trimEnd();
    const split = rest.lastIndexOf('  ');
    const rule = split >= 0 ? rest.slice(split).trim() : undefined;
    const message = split >= 0 ? rest.slice(0, split).trim() : rest;
    failures.push({
      id: rule ? `${file} ${rule}` : `${file}`,
      message,
      location: `${file}:${m[1]}:${m[2]}`,
      runner: 'eslint',
    });
  }
  return failures;
}

const BIOME =
  /^([^\s:]+)(?::(\d+):(\d+))? ((?:lint|assist|syntax|parse|format|organizeImports)[\w/]*)(?:\s|$)/;

export function parseBiome(lines: readonly string[]): Failure[] {
  const failures: Failure[] = [];
  for (let i = 0; i < lines.length && failures.length < MAX_FAILURES; i++) {
    const m = BIOME.exec(lines[i]!);
    if (!m) continue;
    let j = i + 1;
    while (j < lines.length && j < i + 4 && lines[j]!.trim() === '') j++;
    const first = (lines[j] ?? '').trim();
    if (!first.startsWith('× ')) continue;
    failures.push({
      id: `${m[1]} ${m[4]}`,
      message: first.slice(2).trim(),
      location: m[2] ? `${m[1]}:${m[2]}:${m[3]}` : m[1]!,
      runner: 'biome',
    });
  }
  return failures;
}
