import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * docs/architecture.md, "One code base, two runtimes": every Lambda folder has app.ts exporting
 * create<Name>Handler(ports) and the <Name>Ports type, wiring.ts exporting <name>Ports(config), and a
 * one-line handler.ts joining them. Read from the sources, so a new folder cannot drift.
 */
const FUNCTIONS = fileURLToPath(new URL('../../../functions/', import.meta.url));
const folders = readdirSync(FUNCTIONS, { withFileTypes: true })
  .filter((entry) => entry.isDirectory() && entry.name !== 'shared')
  .map((entry) => entry.name);
const read = (folder: string, file: string) => readFileSync(join(FUNCTIONS, folder, file), 'utf8');
const HANDLER_LINE = /^export const handler = create(\w+)Handler\((\w+)Ports\((?:env\(\))?\)\);$/;
/** The sandbox runs untrusted commands: it gets no factory setting at all, so no config either. */
const WITHOUT_CONFIG = new Set(['sandbox']);

describe('one handler shape', () => {
  it('knows every function folder', () => {
    expect(folders.sort()).toEqual([
      'api',
      'approvals',
      'copilot',
      'llm-dlq',
      'llm-worker',
      'sandbox',
      'stages',
      'webhook',
    ]);
  });

  it.each(folders)('%s: handler.ts is one line joining app.ts and wiring.ts', (folder) => {
    const statements = read(folder, 'handler.ts')
      .split('\n')
      .filter((line) => line.trim() !== '' && !line.startsWith('import ') && !line.startsWith('//'));
    expect(statements).toHaveLength(1);
    const match = HANDLER_LINE.exec(statements[0] ?? '');
    expect(match, statements[0]).not.toBeNull();
    const [, name = '', ports = ''] = match ?? [];
    expect(ports).toBe(name.charAt(0).toLowerCase() + name.slice(1));

    const app = read(folder, 'app.ts');
    expect(app).toMatch(new RegExp(`^export function create${name}Handler\\(ports: ${name}Ports\\)`, 'm'));
    expect(app).toMatch(
      new RegExp(`^export (type \\{[^}]*\\b${name}Ports\\b[^}]*\\} from|interface ${name}Ports\\b)`, 'm'),
    );
    const config = WITHOUT_CONFIG.has(folder) ? '' : 'config: Env';
    expect(statements[0]).toContain(WITHOUT_CONFIG.has(folder) ? 'Ports())' : 'Ports(env()))');
    expect(read(folder, 'wiring.ts')).toMatch(
      new RegExp(`^export function ${ports}Ports\\(${config}\\): ${name}Ports \\{`, 'm'),
    );
  });
});
