/** `npm run asl`: regenerates statemachines/*.asl.json from their sources (pipeline.ts, ask.ts). */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderAsk } from './ask';
import { renderPipeline } from './pipeline';

for (const [file, render] of [
  ['./pipeline.asl.json', renderPipeline],
  ['./ask.asl.json', renderAsk],
] as const) {
  const target = fileURLToPath(new URL(file, import.meta.url));
  writeFileSync(target, render());
  process.stdout.write(`wrote ${target}\n`);
}
