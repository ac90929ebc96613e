/**
 * The seeded sample of SPEC §7: forge repository `acme/widgets`, its users and issue #1. The model
 * stand-in and the tests import these constants so the demo, the scripted model and the forge agree.
 */

export const BOT_LOGIN = 'code-factory[bot]';

export const SAMPLE_OWNER = 'acme';
export const SAMPLE_REPO = 'widgets';
export const SAMPLE_FULL_NAME = `${SAMPLE_OWNER}/${SAMPLE_REPO}`;
export const SAMPLE_DEFAULT_BRANCH = 'main';
export const SAMPLE_CI_COMMAND = 'node --test';
export const SAMPLE_LABEL = 'factory';

export const SAMPLE_USERS = { admin: 'alice', writer: 'bob', reader: 'mallory' } as const;
export const SAMPLE_USER_EMAILS: Record<string, string> = {
  alice: 'alice@acme.test',
  bob: 'bob@acme.test',
  mallory: 'mallory@acme.test',
};
/** Repository roles (GitHub's role_name values). */
export const SAMPLE_COLLABORATORS = {
  alice: 'admin',
  bob: 'write',
  mallory: 'read',
} as const;

export const SAMPLE_ISSUE = {
  number: 1,
  author: SAMPLE_USERS.admin,
  title: 'Add a slugify helper',
  body: "Please add `slugify(text)` in `src/slugify.js` and export it from `src/index.js`. It lowercases the text, trims it, replaces every run of characters that are not a-z or 0-9 with a single `-`, and removes leading and trailing `-`. For example `slugify('  Hello, World! ')` is `hello-world`. Add tests in `test/slugify.test.js`.",
} as const;

const PACKAGE_JSON = `${JSON.stringify(
  {
    name: 'widgets',
    version: '1.0.0',
    description: 'Small string helpers.',
    type: 'module',
    main: 'src/index.js',
    scripts: { test: 'node --test' },
    license: 'MIT',
  },
  null,
  2,
)}\n`;

const INDEX_JS = `/**
 * Upper-cases the first character of the text.
 * @param {string} text
 * @returns {string}
 */
export function capitalize(text) {
  const value = String(text);
  return value.charAt(0).toUpperCase() + value.slice(1);
}

/**
 * Shortens the text to at most \`maxLength\` characters, ending with '…' when it was cut.
 * @param {string} text
 * @param {number} maxLength
 * @returns {string}
 */
export function truncate(text, maxLength) {
  const value = String(text);
  if (value.length <= maxLength) return value;
  if (maxLength <= 0) return '';
  return \`\${value.slice(0, maxLength - 1)}…\`;
}
`;

const INDEX_TEST_JS = `import assert from 'node:assert/strict';
import { test } from 'node:test';
import { capitalize, truncate } from '../src/index.js';

test('capitalize upper-cases the first character only', () => {
  assert.equal(capitalize('widget'), 'Widget');
  assert.equal(capitalize('wIDGET'), 'WIDGET');
  assert.equal(capitalize(''), '');
});

test('truncate keeps short text and cuts long text with an ellipsis', () => {
  assert.equal(truncate('short', 10), 'short');
  assert.equal(truncate('a longer sentence', 8), 'a longe…');
  assert.equal(truncate('anything', 0), '');
});
`;

const README_MD = `# widgets

Small string helpers for the Code Factory demo.

\`\`\`js
import { capitalize, truncate } from 'widgets';

capitalize('widget'); // 'Widget'
truncate('a longer sentence', 8); // 'a longe…'
\`\`\`

Run the tests with \`npm test\` (\`node --test\`).
`;

/** What GitHub Actions would run; the forge's local CI runs SAMPLE_CI_COMMAND for it. */
const CI_WORKFLOW = `name: ci
on: [push, pull_request]
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-node@v4
        with:
          node-version: 20
      - run: node --test
`;

/** The sample's contract: the defaults, plus the check the agent's sandbox runs before submitting. */
const FACTORY_YML = `# What Code Factory may do in this repository (docs/factory-yml.md).
version: 1
environment:
  checks:
    - node --test
`;

/** The sample's code without a factory config: what test repositories start from. */
export const SAMPLE_FILES: Readonly<Record<string, string>> = {
  '.github/workflows/ci.yml': CI_WORKFLOW,
  'package.json': PACKAGE_JSON,
  'src/index.js': INDEX_JS,
  'test/index.test.js': INDEX_TEST_JS,
  'README.md': README_MD,
};

/** The files of the seeded sample's first commit on `main`. */
export const SAMPLE_REPO_FILES: Readonly<Record<string, string>> = {
  ...SAMPLE_FILES,
  '.github/factory.yml': FACTORY_YML,
};
