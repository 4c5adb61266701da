import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Starts the longest test files first, so that with several workers the run does not end
 * on one long file that started last. vitest orders by the durations in its own cache, but
 * that lives in node_modules/.vite and a fresh clone (CI) has none: there it would start
 * the largest files first, and the longest ones (spawned processes, real sockets) are often
 * small. test/durations.json holds each file's seconds from a full run
 * (`node test/durations.mjs REPORT.json` writes it from a vitest JSON report); a file it
 * does not list yet is weighed as a short one.
 */
const WEIGHTS: Readonly<Record<string, number>> = JSON.parse(readFileSync(new URL('./durations.json', import.meta.url), 'utf8'));

export class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const ordered = await super.sort(files);
    const weight = (s: TestSpecification): number => WEIGHTS[relative(s.project.config.root, s.moduleId)] ?? 0;
    // Array#sort is stable: among files of equal weight vitest's own order stands.
    return ordered.sort((a, b) => weight(b) - weight(a));
  }
}
