import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  extractFailures,
  type Failure,
  failureReport,
  failureSignature,
  MAX_FAILURES,
} from '../../../functions/shared/domain/ci-failures';

// Real logs of real runners on small failing projects (test/fixtures/ci-logs/README.md).
const fixture = (name: string) =>
  readFileSync(new URL(`../../fixtures/ci-logs/${name}`, import.meta.url), 'utf8');
const extract = (name: string) => extractFailures(fixture(name));
const signatureOf = (name: string) => failureSignature(extract(name).failures);

type Expected = { [K in keyof Failure]?: string | RegExp } & { message: string | RegExp };

/** What each fixture's runner printed as failing, by the test names and messages of the projects. */
const EXPECTED: Record<string, Expected[]> = {
  'node-spec-a.log': [
    {
      runner: 'node',
      id: 'slugify joins words with dashes',
      message:
        "AssertionError [ERR_ASSERTION]: Expected values to be strictly equal:\n+ actual - expected\n\n+ 'hello world'\n- 'hello-world'\n        ^",
      location: 'test/slug.test.js:12:1',
    },
  ],
  'node-spec-b.log': [
    {
      runner: 'node',
      id: 'readConfig reads config.json from a directory',
      message: /^Error: ENOENT: no such file or directory, open '\/tmp\/cfg-\w{6}\/settings\.json'$/,
      location: 'test/slug.test.js:16:1',
    },
  ],
  'node-tap-a.log': [
    {
      runner: 'tap',
      id: 'slugify joins words with dashes',
      message:
        "AssertionError: Expected values to be strictly equal:\n+ actual - expected\n\n+ 'hello world'\n- 'hello-world'\n        ^",
    },
  ],
  'node-tap-b.log': [
    {
      runner: 'tap',
      id: 'readConfig reads config.json from a directory',
      message: /^ENOENT: no such file or directory, open '\/tmp\/cfg-\w{6}\/settings\.json'$/,
    },
  ],
  'jest-a.log': [
    {
      runner: 'jest',
      id: 'slug › slugify joins words with dashes',
      message:
        'expect(received).toBe(expected) // Object.is equality\n\nExpected: "hello-world"\nReceived: "hello world"',
      location: 'test/slug.test.js:12:36',
    },
  ],
  'jest-b.log': [
    {
      runner: 'jest',
      id: 'slug › readConfig reads config.json from a directory',
      message: /^ENOENT: no such file or directory, open '\/tmp\/cfg-\w{6}\/settings\.json'$/,
      location: 'src/slug.js:13:21',
    },
  ],
  'jest-junit-b.log': [
    { runner: 'jest', id: 'slug › readConfig reads config.json from a directory', message: /ENOENT/ },
  ],
  'vitest-a.log': [
    {
      runner: 'vitest',
      id: 'slug > slugify joins words with dashes',
      message:
        'AssertionError: expected \'hello world\' to be \'hello-world\' // Object.is equality\n\nExpected: "hello-world"\nReceived: "hello world"',
      location: 'test/slug.test.js:13:36',
    },
  ],
  'vitest-b.log': [
    {
      runner: 'vitest',
      id: 'slug > readConfig reads config.json from a directory',
      message: /^Error: ENOENT: no such file or directory, open '\/tmp\/cfg-\w{6}\/settings\.json'$/,
      location: 'src/slug.js:13:21',
    },
  ],
  'pytest-a.log': [
    {
      runner: 'pytest',
      id: 'test_slug.py::test_slugify_joins_words_with_dashes',
      message:
        "AssertionError: assert 'hello world' == 'hello-world'\n  - hello-world\n  ?      ^\n  + hello world\n  ?      ^",
      location: 'test_slug.py:9',
    },
  ],
  'pytest-b.log': [
    {
      runner: 'pytest',
      id: 'test_slug.py::test_read_config_reads_config_json',
      message:
        /^FileNotFoundError: \[Errno 2\] No such file or directory: '\/tmp\/pytest-of-root\/pytest-\d+\/test_read_config_reads_config_0\/settings\.json'$/,
      location: 'slug.py:14',
    },
  ],
  'junit-pytest-a.xml': [
    {
      runner: 'junit',
      id: 'test_slug.test_slugify_joins_words_with_dashes',
      message: /^AssertionError: assert 'hello world' == 'hello-world'\n/,
    },
  ],
  'junit-pytest-b.xml': [
    {
      runner: 'junit',
      id: 'test_slug.test_read_config_reads_config_json',
      message: /^FileNotFoundError: \[Errno 2\] No such file or directory: '\/tmp\/pytest-of-root\//,
    },
  ],
  'junit-jest-b.xml': [
    {
      runner: 'junit',
      id: 'slug readConfig reads config.json from a directory',
      message: /^Error: ENOENT: no such file or directory, open '\/tmp\/cfg-\w{6}\/settings\.json'$/,
    },
  ],
  'go-a.log': [
    {
      runner: 'go',
      id: 'TestSlugify',
      message: 'Slugify("Hello World") = "hello world", want "hello-world"',
      location: 'slug_test.go:17',
    },
  ],
  'go-b.log': [
    {
      runner: 'go',
      id: 'TestReadConfig',
      message: /^ReadConfig: open \/tmp\/TestReadConfig\d+\/001\/settings\.json: no such file or directory$/,
      location: 'slug_test.go:28',
    },
  ],
  'cargo-a.log': [
    {
      runner: 'cargo',
      id: 'tests::slugify_joins_words_with_dashes',
      message: 'assertion failed: `(left == right)`\n  left: `"hello world"`,\n right: `"hello-world"`',
      location: 'src/lib.rs:33:9',
    },
  ],
  'cargo-b.log': [
    {
      runner: 'cargo',
      id: 'tests::read_config_reads_config_json',
      message: /^cannot read the config in \/tmp\/cfg-\d+-\d+: No such file or directory \(os error 2\)$/,
      location: 'src/lib.rs:46:33',
    },
  ],
  'cargo-new-color-a.log': [
    {
      runner: 'cargo',
      id: 'tests::slugify_joins_words_with_dashes',
      message: 'assertion `left == right` failed\n  left: "hello world"\n right: "hello-world"',
      location: 'src/lib.rs:33:9',
    },
  ],
  'gradle-a.log': [
    {
      runner: 'gradle',
      id: 'example.SlugTest > slugifyJoinsWordsWithDashes',
      message: 'org.junit.ComparisonFailure',
      location: 'example/SlugTest.java:18',
    },
  ],
  'gradle-b.log': [
    {
      runner: 'gradle',
      id: 'example.SlugTest > readConfigReadsConfigJson',
      message: 'java.nio.file.NoSuchFileException',
      location: 'example/SlugTest.java:25',
    },
  ],
  'gradle-full-a.log': [
    {
      runner: 'gradle',
      id: 'example.SlugTest > slugifyJoinsWordsWithDashes',
      message: 'org.junit.ComparisonFailure: expected:<hello[-]world> but was:<hello[ ]world>',
      location: 'example/SlugTest.java:18',
    },
  ],
  'gtest-a.log': [
    {
      runner: 'gtest',
      id: 'Slug.SlugifyJoinsWordsWithDashes',
      message:
        'Expected equality of these values:\n  slugify("Hello World")\n    Which is: "hello world"\n  "hello-world"',
      location: /^\/tmp\/\S+\/test\/slug_test\.cpp:14$/,
    },
  ],
  'gtest-b.log': [
    {
      runner: 'gtest',
      id: 'Slug.ReadConfigReadsConfigJson',
      message:
        /^C\+\+ exception with description "cannot open \/tmp\/cfg-\w{6}\/settings\.json" thrown in the test body\.$/,
    },
  ],
  'gtest-ctest-a.log': [{ runner: 'ctest', id: 'Slug.SlugifyJoinsWordsWithDashes', message: 'Failed' }],
  'tsc-a.log': [
    {
      runner: 'tsc',
      id: 'src/slug.ts TS2322',
      message: "Type 'number' is not assignable to type 'string'.",
      location: 'src/slug.ts:2:3',
    },
  ],
  'tsc-b.log': [
    {
      runner: 'tsc',
      id: 'src/slug.ts TS2551',
      message: "Property 'slic' does not exist on type 'string'. Did you mean 'slice'?",
      location: 'src/slug.ts:6:46',
    },
  ],
  'eslint-a.log': [
    {
      runner: 'eslint',
      id: /src\/slug\.js no-unused-vars$/,
      message: "'words' is assigned a value but never used",
    },
    {
      runner: 'eslint',
      id: /src\/slug\.js no-unused-vars$/,
      message: "'separator' is assigned a value but never used",
    },
  ],
  'eslint-b.log': [
    { runner: 'eslint', id: /src\/slug\.js no-undef$/, message: "'separator' is not defined" },
  ],
  'biome-a.log': [
    {
      runner: 'biome',
      id: 'src/slug.js lint/suspicious/noDoubleEquals',
      message: 'Using == may be unsafe if you are relying on type coercion.',
      location: 'src/slug.js:2:28',
    },
  ],
  'biome-b.log': [
    {
      runner: 'biome',
      id: 'src/slug.js lint/suspicious/noDebugger',
      message: 'This is an unexpected use of the debugger statement.',
      location: 'src/slug.js:2:2',
    },
  ],
  'mocha-a.log': [
    {
      runner: 'mocha',
      id: 'slug > slugify joins words with dashes',
      message:
        "AssertionError [ERR_ASSERTION]: Expected values to be strictly equal:\n+ actual - expected\n\n+ 'hello world'\n- 'hello-world'\n        ^\n+ expected - actual\n\n-hello world\n+hello-world",
      location: /^\/tmp\/\S+\/test\/slug\.test\.js:13:12$/,
    },
  ],
  'mocha-b.log': [
    {
      runner: 'mocha',
      id: 'slug > readConfig reads config.json from a directory',
      message: /^Error: ENOENT: no such file or directory, open '\/tmp\/cfg-\w{6}\/settings\.json'$/,
      location: /^\/tmp\/\S+\/src\/slug\.js:13:21$/,
    },
  ],
  'unittest-a.log': [
    {
      runner: 'unittest',
      id: 'test_slug.SlugTest.test_slugify_joins_words_with_dashes',
      message:
        "AssertionError: 'hello world' != 'hello-world'\n- hello world\n?      ^\n+ hello-world\n?      ^",
      location: /^\/tmp\/\S+\/test_slug\.py:14$/,
    },
  ],
  'unittest-b.log': [
    {
      runner: 'unittest',
      id: 'test_slug.SlugTest.test_read_config_reads_config_json',
      message:
        /^FileNotFoundError: \[Errno 2\] No such file or directory: '\/tmp\/cfg-\w{8}\/settings\.json'$/,
      location: /^\/tmp\/\S+\/slug\.py:14$/,
    },
  ],
  'unittest-load-a.log': [
    {
      runner: 'unittest',
      id: 'unittest.loader._FailedTest.test_slug',
      message: "    def slugify(text)\n                     ^\nSyntaxError: expected ':'",
      location: /^\/tmp\/\S+\/slug\.py:5$/,
    },
  ],
  'flake8-a.log': [
    {
      runner: 'diagnostic',
      id: 'src/slug.py F841',
      message: "local variable 'words' is assigned to but never used",
      location: 'src/slug.py:2:5',
    },
  ],
  'flake8-b.log': [
    {
      runner: 'diagnostic',
      id: 'src/slug.py F821',
      message: "undefined name 'separator'",
      location: 'src/slug.py:2:12',
    },
  ],
  'pylint-a.log': [
    {
      runner: 'diagnostic',
      id: 'src/slug.py W0612',
      message: "Unused variable 'words' (unused-variable)",
      location: 'src/slug.py:6:4',
    },
  ],
  'pylint-b.log': [
    {
      runner: 'diagnostic',
      id: 'src/slug.py E0602',
      message: "Undefined variable 'separator' (undefined-variable)",
      location: 'src/slug.py:6:11',
    },
  ],
  'shellcheck-a.log': [
    {
      runner: 'shellcheck',
      id: 'scripts/slug.sh SC2086',
      message: 'Double quote to prevent globbing and word splitting.',
      location: 'scripts/slug.sh:3:8',
    },
  ],
  'shellcheck-b.log': [
    {
      runner: 'shellcheck',
      id: 'scripts/slug.sh SC2034',
      message: 'separator appears unused. Verify use (or export if used externally).',
      location: 'scripts/slug.sh:3:3',
    },
  ],
  'gcc-a.log': [
    {
      runner: 'diagnostic',
      id: 'src/slug.c',
      message:
        '‘separator’ undeclared (first use in this function)\nsrc/slug.c:6:53: note: each undeclared identifier is reported only once for each function it appears in',
      location: 'src/slug.c:6:53',
    },
  ],
  'gcc-b.log': [
    {
      runner: 'diagnostic',
      id: 'src/slug.c',
      message: 'too few arguments to function ‘capitalize’\nsrc/slug.c:3:6: note: declared here',
      location: 'src/slug.c:8:5',
    },
  ],
  'mypy-a.log': [
    {
      runner: 'diagnostic',
      id: 'src/slug.py return-value',
      message: 'Incompatible return value type (got "int", expected "str")',
      location: 'src/slug.py:2',
    },
  ],
  'mypy-b.log': [
    {
      runner: 'diagnostic',
      id: 'src/slug.py attr-defined',
      message: '"str" has no attribute "uper"; maybe "upper"?',
      location: 'src/slug.py:6',
    },
  ],
  'rspec-a.log': [
    {
      runner: 'rspec',
      id: 'Slug slugify joins words with dashes',
      message:
        'Failure/Error: expect(Slug.slugify(\'Hello World\')).to eq(\'hello-world\')\n\n  expected: "hello-world"\n       got: "hello world"\n\n  (compared using ==)',
      location: 'spec/slug_spec.rb:10',
    },
  ],
  'rspec-b.log': [
    {
      runner: 'rspec',
      id: 'Slug read_config reads config.json from a directory',
      message:
        /^Failure\/Error: JSON\.parse\(File\.read\(File\.join\(dir, 'settings\.json'\)\)\)\n\nErrno::ENOENT:\n {2}No such file or directory @ rb_sysopen - \/tmp\/cfg-[\w-]+\/settings\.json$/,
      location: 'lib/slug.rb:13',
    },
  ],
  'rspec-load-a.log': [
    {
      runner: 'rspec',
      id: 'An error occurred while loading ./spec/slug_spec.rb',
      message:
        /^Failure\/Error: require_relative '\.\.\/lib\/slug'\n\nSyntaxError:\n {2}\/tmp\/\S+\/lib\/slug\.rb:14: syntax error, unexpected `end', expecting '\)'\n {4}end\n {4}\^~~$/,
      location: 'spec/slug_spec.rb:2',
    },
  ],
  'minitest-a.log': [
    {
      runner: 'minitest',
      id: 'SlugTest#test_slugify_joins_words_with_dashes',
      message: 'Expected: "hello-world"\n  Actual: "hello world"',
      location: /^\/tmp\/\S+\/test\/slug_test\.rb:11$/,
    },
  ],
  'minitest-b.log': [
    {
      runner: 'minitest',
      id: 'SlugTest#test_read_config_reads_config_json',
      message: /^Errno::ENOENT: No such file or directory @ rb_sysopen - \/tmp\/cfg-[\w-]+\/settings\.json$/,
      location: /^\/tmp\/\S+\/lib\/slug\.rb:13$/,
    },
  ],
  'rubocop-a.log': [
    {
      runner: 'diagnostic',
      id: 'lib/slug.rb Lint/UselessAssignment',
      message: 'Useless assignment to variable - words.',
      location: 'lib/slug.rb:6:5',
    },
  ],
  'rubocop-b.log': [
    {
      runner: 'diagnostic',
      id: 'lib/slug.rb Style/StringLiterals',
      message: "Prefer single-quoted strings when you don't need string interpolation or special symbols.",
      location: 'lib/slug.rb:6:28',
    },
  ],
  'phpunit-a.log': [
    {
      runner: 'phpunit',
      id: 'SlugTest::testSlugifyJoinsWordsWithDashes',
      message:
        "Failed asserting that two strings are identical.\n--- Expected\n+++ Actual\n@@ @@\n-'hello-world'\n+'hello world'",
      location: /^\/tmp\/\S+\/tests\/SlugTest\.php:16$/,
    },
  ],
  'phpunit-b.log': [
    {
      runner: 'phpunit',
      id: 'SlugTest::testReadConfigReadsConfigJson',
      message:
        /^file_get_contents\(\/tmp\/cfg-\w{8}\/settings\.json\): Failed to open stream: No such file or directory$/,
      location: /^\/tmp\/\S+\/src\/Slug\.php:17$/,
    },
  ],
  'maven-a.log': [
    {
      runner: 'maven',
      id: 'example.SlugTest.slugifyJoinsWordsWithDashes',
      message: 'org.junit.ComparisonFailure: expected:<hello[-]world> but was:<hello[ ]world>',
      location: 'example/SlugTest.java:18',
    },
  ],
  'maven-b.log': [
    {
      runner: 'maven',
      id: 'example.SlugTest.readConfigReadsConfigJson',
      message: /^java\.nio\.file\.NoSuchFileException: \/tmp\/cfg-\d+\/settings\.json$/,
      location: 'example/SlugTest.java:25',
    },
  ],
  'maven-compile-a.log': [
    {
      runner: 'maven',
      id: /^\/tmp\/\S+\/src\/test\/java\/example\/SlugTest\.java$/,
      message:
        'cannot find symbol\n  symbol:   method slugfy(java.lang.String)\n  location: class example.Slug',
      location: /^\/tmp\/\S+\/src\/test\/java\/example\/SlugTest\.java:18:41$/,
    },
  ],
};

const matcher = (value: unknown) => (value instanceof RegExp ? expect.stringMatching(value) : value);

describe('extractFailures on real runner logs', () => {
  for (const [name, expected] of Object.entries(EXPECTED)) {
    it(`${name}: the failing tests and their messages`, () => {
      const { failures, truncated } = extract(name);
      expect(truncated).toBe(false);
      expect(failures).toEqual(
        expected.map((e) =>
          expect.objectContaining(Object.fromEntries(Object.entries(e).map(([k, v]) => [k, matcher(v)]))),
        ),
      );
    });
  }

  it('strips the Actions timestamps and markers and the ANSI colours from the tail', () => {
    const { tail } = extract('vitest-a.log');
    expect(fixture('vitest-a.log')).toContain('\u001b[');
    expect(tail).not.toContain('\u001b');
    expect(tail).not.toMatch(/##\[|^\d{4}-\d\d-\d\dT/m);
    expect(tail).toContain('Run npx vitest run');
    expect(tail.split('\n').at(-1)).toBe('Process completed with exit code 1.');
  });

  it('gives locations relative to the checkout when the runner prints them absolute', () => {
    // The fixtures ran in /tmp/ci-projects/<kind>.XXXXXX; on GitHub the same lines name the
    // workspace (/home/runner/work/<repo>/<repo>, D:\\a\\<repo>\\<repo> on Windows).
    const onGitHub = (name: string) =>
      extractFailures(
        fixture(name).replace(/\/tmp\/ci-projects\/[a-z0-9]+\.\w{6}\//g, '/home/runner/work/slug/slug/'),
      );
    expect(onGitHub('unittest-a.log').failures[0]?.location).toBe('test_slug.py:14');
    expect(onGitHub('unittest-b.log').failures[0]?.location).toBe('slug.py:14');
    expect(onGitHub('mocha-a.log').failures[0]?.location).toBe('test/slug.test.js:13:12');
    expect(onGitHub('phpunit-b.log').failures[0]?.location).toBe('src/Slug.php:17');
    expect(onGitHub('minitest-b.log').failures[0]?.location).toBe('lib/slug.rb:13');
    expect(onGitHub('gtest-a.log').failures[0]?.location).toBe('test/slug_test.cpp:14');
    expect(onGitHub('maven-compile-a.log').failures[0]?.location).toBe(
      'src/test/java/example/SlugTest.java:18:41',
    );
    const windows = fixture('phpunit-a.log').replace(
      /\/tmp\/ci-projects\/phpunit\.\w{6}\/tests\//g,
      'D:\\a\\slug\\slug\\tests\\',
    );
    expect(extractFailures(windows).failures[0]?.location).toBe('tests\\SlugTest.php:16');
  });

  it('falls back to the lines around the first error on a log no parser knows', () => {
    const extracted = extract('generic-script-a.log');
    expect(extracted.failures).toEqual([]);
    expect(extracted.firstError).toContain('Traceback (most recent call last):');
    expect(extracted.firstError).toContain(
      "FileNotFoundError: [Errno 2] No such file or directory: 'deploy.json'",
    );
    const report = failureReport(extracted, { maxChars: 4000 });
    expect(report).toMatch(/^No failing test or diagnostic was recognised; the first error in the log:\n/);
    expect(report).toContain('Log tail (last');
  });

  it('does not take a passing test whose name says error for the first error', () => {
    // The tail of commander.js's node --test TAP, its `not ok` lines cut off above.
    const log = [
      '# Subtest: when program has required value not specified and subcommand then error',
      'ok 4 - when program has required value not specified and subcommand then error',
      '✔ when the option is missing then error (0.5ms)',
      'test parse::rejects_error ... ok',
      ...Array.from({ length: 6 }, (_, i) => `ok ${i + 5} - fine`),
      '# fail 2',
      'npm ERR! Test failed.  See above for more details.',
    ].join('\n');
    const firstError = extractFailures(log).firstError;
    expect(firstError).not.toContain('then error');
    expect(firstError).not.toContain('rejects_error');
    expect(firstError?.split('\n').slice(-2)).toEqual([
      '# fail 2',
      'npm ERR! Test failed.  See above for more details.',
    ]);
  });

  it('recognises nothing in a passing log, and keeps its tail', () => {
    const extracted = extractFailures(
      '2026-01-01T00:00:00.0000000Z ok 1 - a\n2026-01-01T00:00:00.0000000Z # pass 1',
    );
    expect(extracted).toEqual({ failures: [], truncated: false, tail: 'ok 1 - a\n# pass 1' });
  });
});

describe('failureSignature', () => {
  const runners = [
    'node-spec',
    'node-tap',
    'jest',
    'vitest',
    'pytest',
    'go',
    'cargo',
    'tsc',
    'eslint',
    'biome',
    'mocha',
    'unittest',
    'flake8',
    'pylint',
    'mypy',
    'shellcheck',
    'gcc',
    'rspec',
    'minitest',
    'rubocop',
    'phpunit',
    'maven',
    'gradle',
    'gtest',
  ];

  for (const runner of runners) {
    it(`${runner}: the same failure re-run (other times, durations and temp paths) has the same signature`, () => {
      for (const variant of ['a', 'b']) {
        const first = fixture(`${runner}-${variant}.log`);
        const again = fixture(`${runner}-${variant}-rerun.log`);
        expect(first).not.toBe(again);
        expect(signatureOf(`${runner}-${variant}.log`)).toBe(signatureOf(`${runner}-${variant}-rerun.log`));
      }
    });

    it(`${runner}: a different failing test has a different signature`, () => {
      expect(signatureOf(`${runner}-a.log`)).not.toBe(signatureOf(`${runner}-b.log`));
    });
  }

  for (const runner of ['mocha', 'unittest', 'rspec', 'phpunit', 'maven']) {
    it(`${runner}: a run with both tests failing gives both failures, as the a and b runs gave them`, () => {
      const both = extract(`${runner}-ab.log`).failures;
      const apart = [...extract(`${runner}-a.log`).failures, ...extract(`${runner}-b.log`).failures];
      expect(both).toHaveLength(2);
      expect(new Set(both.map((f) => f.id))).toEqual(new Set(apart.map((f) => f.id)));
      expect(failureSignature(both)).toBe(failureSignature(apart));
    });
  }

  it('code that does not load (rspec, unittest): the same on a re-run, not the failing test of b', () => {
    for (const runner of ['rspec', 'unittest']) {
      expect(signatureOf(`${runner}-load-a.log`)).toBe(signatureOf(`${runner}-load-a-rerun.log`));
      expect(signatureOf(`${runner}-load-a.log`)).not.toBe(signatureOf(`${runner}-b.log`));
    }
  });

  it('JUnit reports: the same failure re-run has the same signature, another test another', () => {
    expect(signatureOf('junit-pytest-a.xml')).toBe(signatureOf('junit-pytest-a-rerun.xml'));
    expect(signatureOf('junit-pytest-b.xml')).toBe(signatureOf('junit-pytest-b-rerun.xml'));
    expect(signatureOf('junit-pytest-a.xml')).not.toBe(signatureOf('junit-pytest-b.xml'));
  });

  it('a test failing twice with different temp paths in its message is the same failure', () => {
    for (const name of [
      'node-spec-b',
      'jest-b',
      'vitest-b',
      'pytest-b',
      'go-b',
      'cargo-b',
      'mocha-b',
      'unittest-b',
      'rspec-b',
      'minitest-b',
      'phpunit-b',
      'maven-b',
      'gtest-b',
    ]) {
      const [first] = extract(`${name}.log`).failures;
      const [again] = extract(`${name}-rerun.log`).failures;
      expect(first!.message).not.toBe(again!.message);
      expect(failureSignature([first!])).toBe(failureSignature([again!]));
    }
  });

  it('ignores order, keeps numbers in test ids, and hashes the fallback text when nothing was extracted', () => {
    const a = { id: 'case 1', message: 'expected 2 got 3', runner: 'jest' };
    const b = { id: 'case 2', message: 'expected 2 got 3', runner: 'jest' };
    expect(failureSignature([a, b])).toBe(failureSignature([b, a]));
    expect(failureSignature([a])).not.toBe(failureSignature([b]));
    expect(failureSignature([a])).toBe(failureSignature([{ ...a, message: 'expected 5 got 7' }]));
    expect(failureSignature([], 'build failed at 12:00:01 in /tmp/x1/a.c')).toBe(
      failureSignature([], 'build failed at 13:14:15 in /tmp/y2/a.c'),
    );
    expect(failureSignature([], 'build failed')).not.toBe(failureSignature([], 'link failed'));
  });
});

describe('failureReport', () => {
  it('puts the failures first and the log tail after, within maxChars', () => {
    const report = failureReport(extract('jest-a.log'), { maxChars: 2000 });
    expect(report.length).toBeLessThanOrEqual(2000);
    expect(report).toMatch(
      /^1 failure extracted from the CI log:\n1\. \[jest\] slug › slugify joins words with dashes \(test\/slug\.test\.js:12:36\)\n {3}expect\(received\)/,
    );
    expect(report.indexOf('Log tail')).toBeGreaterThan(report.indexOf('Received: "hello world"'));
    expect(report).toContain('Tests:       1 failed, 2 passed, 3 total');
  });
});

describe('bounds', () => {
  it('extracts from a 5 MB log with hostile lines quickly, and caps what it keeps', () => {
    const stamp = '2026-12-01T21:49:12.5605290Z ';
    const noise = [
      'a'.repeat(5000),
      '('.repeat(3000),
      ': '.repeat(2000),
      '_ '.repeat(2000),
      `--- FAIL: ${'x'.repeat(3000)}`,
      `src/x.ts(${'1,'.repeat(2000)}`,
      `/${'a/'.repeat(2000)}`,
      `  ● ${'›'.repeat(2000)}`,
      `FAILED ${'x '.repeat(2000)}`,
      `thread 'x' panicked at '${"'".repeat(2000)}`,
      `<testcase name="${'"'.repeat(2000)}`,
      `\u001b[31m${'\u001b['.repeat(2000)}`,
      '[ RUN      ] Suite.Name',
      `${'x:'.repeat(1000)}1:1: E1 x`,
      `${'x'.repeat(1000)}:1: error: ${'['.repeat(1000)}`,
      '  1) Failure:',
      `${'a#'.repeat(1000)}`,
      `${'  '.repeat(500)}Time elapsed: 1 s  <<< FAILURE!`,
      `${'(1)'.repeat(600)}: Failure`,
      '  3 failing',
      '  1) x',
      'There was 1 failure:',
      '='.repeat(70),
      'FAIL: test_x (m.C.test_x)',
      'An error occurred while loading x.',
      'not ok 1 - a test that failed',
      '  ---',
      `  error: '${'x'.repeat(1000)}'`,
      '  ...',
    ];
    const parts: string[] = [];
    let size = 0;
    for (let i = 0; size < 5_000_000; i++) {
      const line = `${stamp}${noise[i % noise.length]} ${i}`;
      parts.push(line);
      size += line.length + 1;
    }
    const log = `${parts.join('\n')}\n${fixture('jest-b.log')}`;
    expect(log.length).toBeGreaterThan(5_000_000);
    const started = performance.now();
    const extracted = extractFailures(log);
    const report = failureReport(extracted, { maxChars: 12_000 });
    const signature = failureSignature(extracted.failures);
    const elapsed = performance.now() - started;
    expect(elapsed).toBeLessThan(3000);
    expect(extracted.failures.length).toBe(MAX_FAILURES);
    expect(extracted.truncated).toBe(true);
    expect(report.length).toBeLessThanOrEqual(12_000);
    expect(extracted.tail.split('\n').length).toBeLessThanOrEqual(200);
    expect(extracted.tail).toContain('● slug › readConfig reads config.json from a directory');
    expect(signature).toMatch(/^[0-9a-f]{32}$/);
  });
});
