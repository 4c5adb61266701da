// Writes test/durations.json (read by test/longest-first.ts) from a vitest JSON report:
//   npx vitest run --reporter=json --outputFile=/tmp/report.json && node test/durations.mjs /tmp/report.json
import { readFileSync, writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const report = process.argv[2];
if (!report) {
  console.error('usage: node test/durations.mjs REPORT.json');
  process.exit(2);
}
const root = fileURLToPath(new URL('..', import.meta.url));
const { testResults } = JSON.parse(readFileSync(report, 'utf8'));
const rows = testResults
  .map((f) => [relative(root, f.name), Math.round((f.endTime - f.startTime) / 100) / 10])
  .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
writeFileSync(new URL('./durations.json', import.meta.url), JSON.stringify(Object.fromEntries(rows), null, 1) + '\n');
console.log(`test/durations.json: ${rows.length} files`);
