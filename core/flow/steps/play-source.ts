import { stat, readFile } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { compileTemplate } from '../templates.js';

/** Largest WAV file read from disk (≈ 10 min of 16 kHz mono). */
export const MAX_PLAY_FILE_BYTES = 20 * 1024 * 1024;
/** Decoded files kept in memory, least recently used dropped first. */
export const PLAY_CACHE_MAX_ENTRIES = 64;
export const PLAY_CACHE_MAX_BYTES = 64 * 1024 * 1024;

/**
 * Where a `play: { file }` may read from. A literal path is the author's:
 * used as written (relative to the config's directory, or absolute). A path
 * built from a template must stay inside the directory its literal prefix
 * names — `./sounds/{{choice}}.wav` stays in ./sounds, `{{name}}.wav` in the
 * config's directory — so a caller's `../../secret` or `/etc/passwd` cannot
 * pick the file.
 */
export function containmentRoot(template: string, configDir: string): string | undefined {
  const t = compileTemplate(template);
  if (t.literal) return undefined;
  const first = t.parts[0];
  const prefix = typeof first === 'string' ? first : '';
  const dir = prefix.slice(0, prefix.lastIndexOf('/') + 1);
  return resolve(configDir, dir || '.');
}

/** The file to read, or `{ outside }` when a templated path escapes its root. */
export function resolvePlayPath(template: string, rendered: string, configDir: string): { path: string } | { outside: string; root: string } {
  const root = containmentRoot(template, configDir);
  if (root === undefined) return { path: isAbsolute(rendered) ? rendered : resolve(configDir, rendered) };
  const path = resolve(configDir, rendered);
  const rel = relative(root, path);
  if (rendered.includes('\0') || rel === '' || rel.startsWith(`..${sep}`) || rel === '..' || isAbsolute(rel)) return { outside: path, root };
  return { path };
}

/** A file read with a size cap (checked before reading). */
export async function readPlayFile(path: string): Promise<Uint8Array> {
  const s = await stat(path);
  if (!s.isFile()) throw new Error('not a regular file');
  if (s.size > MAX_PLAY_FILE_BYTES) throw new Error(`file is larger than ${MAX_PLAY_FILE_BYTES} bytes`);
  return readFile(path);
}

/** A small LRU bounded by entry count and by total bytes. */
export class BoundedCache<V> {
  private readonly map = new Map<string, { value: V; bytes: number }>();
  private total = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly maxBytes: number,
  ) {}

  get size(): number {
    return this.map.size;
  }

  get bytes(): number {
    return this.total;
  }

  get(key: string): V | undefined {
    const e = this.map.get(key);
    if (!e) return undefined;
    this.map.delete(key);
    this.map.set(key, e);
    return e.value;
  }

  set(key: string, value: V, bytes: number): void {
    this.delete(key);
    if (bytes > this.maxBytes) return;
    this.map.set(key, { value, bytes });
    this.total += bytes;
    for (const [k] of this.map) {
      if (this.map.size <= this.maxEntries && this.total <= this.maxBytes) break;
      this.delete(k);
    }
  }

  delete(key: string): void {
    const e = this.map.get(key);
    if (!e) return;
    this.map.delete(key);
    this.total -= e.bytes;
  }
}
