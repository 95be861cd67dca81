// Sums the vitest JSON reports of every package into one closing line that CI can read,
// and names every failed test with its first message line, since CI shows only the end of the log.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';

// Colour codes from the reporters (built from the ESC code point:
// the linter refuses control characters in a regex literal).
const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');

let passed = 0;
let failed = 0;
let skipped = 0;
const failures = [];
for (const group of ['packages', 'apps']) {
  for (const name of readdirSync(group)) {
    const file = path.join(group, name, '.test-results', 'vitest.json');
    if (!existsSync(file)) continue;
    const r = JSON.parse(readFileSync(file, 'utf8'));
    passed += r.numPassedTests;
    failed += r.numFailedTests;
    skipped += r.numPendingTests + (r.numTodoTests ?? 0);
    for (const suite of r.testResults ?? []) {
      const where = `${group}/${name}/${path.relative(path.resolve(group, name), suite.name)}`;
      // A file that fails to load has no assertion results, only a message.
      if (suite.status === 'failed' && !(suite.assertionResults ?? []).some((a) => a.status === 'failed')) {
        failures.push(`${where}: ${firstLine(suite.message)}`);
      }
      for (const a of suite.assertionResults ?? []) {
        if (a.status === 'failed')
          failures.push(`${where} › ${a.fullName ?? a.title}: ${firstLine(a.failureMessages?.[0])}`);
      }
    }
  }
}
for (const f of failures) console.log(`FAILED ${f}`);
console.log(
  `${process.argv[2] ?? 'tests'}: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`,
);
if (passed === 0 || failed > 0 || failures.length > 0) process.exit(1);

function firstLine(text) {
  return (
    String(text ?? '')
      .replace(ANSI, '')
      .split('\n')
      .find((l) => l.trim()) ?? ''
  );
}
