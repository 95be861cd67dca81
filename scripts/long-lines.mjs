#!/usr/bin/env node
// Lists the tracked .ts/.mjs/.js lines over 120 characters (file:line: length) and exits 1 if there are any.
// Biome's formatter keeps code within 120 but never breaks a string, a template or a comment: this catches those.
// A line that cannot be broken without harm (a regex, a URL, bytes that matter) carries
// `// long-line: <why>` on the line before it.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

const MAX = 120;
const MARKER = /\/\/ long-line: \S/;
const files = execFileSync('git', ['ls-files', '-z', '*.ts', '*.mjs', '*.js'], { encoding: 'utf8' })
  .split('\0')
  .filter((f) => f && existsSync(f));
let found = 0;
for (const file of files) {
  const lines = readFileSync(file, 'utf8').split('\n');
  lines.forEach((line, i) => {
    // Characters, not UTF-16 units or bytes: `…` or `→` counts once, as a reader sees it.
    const length = [...line].length;
    if (length <= MAX || (i > 0 && MARKER.test(lines[i - 1]))) return;
    console.log(`${file}:${i + 1}: ${length}`);
    found++;
  });
}
if (found) {
  console.error(
    `${found} line(s) over ${MAX} characters: split the string with + or wrap the comment; ` +
      'where that would do harm, say why with `// long-line: <why>` on the line before.',
  );
  process.exitCode = 1;
}
