/**
 * pytest: the `short test summary info` lines (`FAILED path::test - message`) name the failures;
 * the FAILURES/ERRORS sections give each one's `E` lines (the full assertion) and `file:line`.
 */
import { type Failure, MAX_FAILURES, messageFrom } from './lines';

const BANNER = /^=+ (.*?) =+$/;
const SECTION = /^_{3,} (.+) _{3,}$/;
// Not unittest's closing `FAILED (failures=1)`: a pytest node id never starts with `(`.
const SUMMARY = /^(FAILED|ERROR) ([^\s(]\S*)(?: - (.*))?$/;

interface Section {
  name: string;
  errors: string[];
  location?: string;
}

export function parsePytest(lines: readonly string[]): Failure[] {
  const sections: Section[] = [];
  const summary: Array<{ id: string; message: string }> = [];
  let inFailures = false;
  let current: Section | undefined;
  for (const line of lines) {
    const banner = BANNER.exec(line);
    if (banner) {
      inFailures = banner[1] === 'FAILURES' || banner[1] === 'ERRORS';
      current = undefined;
      continue;
    }
    const s = SUMMARY.exec(line);
    if (s && summary.length < MAX_FAILURES) {
      summary.push({ id: s[2]!, message: s[3] ?? '' });
      continue;
    }
    if (!inFailures) continue;
    const header = SECTION.exec(line);
    if (header && !/^[_ ]*$/.test(header[1]!)) {
      current = { name: header[1]!, errors: [] };
      if (sections.length < MAX_FAILURES) sections.push(current);
      continue;
    }
    if (!current) continue;
    if (line.startsWith('E ') || line === 'E') {
      if (current.errors.length < 200) current.errors.push(line.slice(1));
      continue;
    }
    const at = /^([^\s:]+\.py):(\d+): \w/.exec(line);
    if (at) current.location = `${at[1]}:${at[2]}`;
  }
  const sectionFor = (id: string) => {
    const name = id.split('::').slice(1).join('.');
    return sections.find(
      (s) => s.name === name || s.name.endsWith(` ${name}`) || (name === '' && s.name.endsWith(id)),
    );
  };
  if (summary.length > 0) {
    return summary.map(({ id, message }) => {
      const section = sectionFor(id);
      const errors = section?.errors.length ? messageFrom(section.errors) : message;
      return {
        id,
        message: errors,
        ...(section?.location ? { location: section.location } : {}),
        runner: 'pytest',
      };
    });
  }
  return sections.map((s) => ({
    id: s.name,
    message: messageFrom(s.errors),
    ...(s.location ? { location: s.location } : {}),
    runner: 'pytest',
  }));
}
