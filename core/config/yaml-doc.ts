import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node, type Pair } from 'yaml';

export type Path = (string | number)[];

/** A parsed YAML document that can answer "where is this path?" for messages. */
export class YamlSource {
  readonly doc: Document.Parsed;
  readonly lines: LineCounter;

  constructor(readonly text: string) {
    this.lines = new LineCounter();
    this.doc = parseDocument(text, { lineCounter: this.lines, uniqueKeys: false, keepSourceTokens: true, prettyErrors: false });
  }

  pos(offset: number): { line: number; col: number } {
    const p = this.lines.linePos(offset);
    return { line: p.line, col: p.col };
  }

  /** The pair holding `path`'s last segment (for key positions), and the value node. */
  find(path: Path): { pair?: Pair<unknown, unknown>; node?: Node } {
    let node: unknown = this.doc.contents;
    let pair: Pair<unknown, unknown> | undefined;
    for (const seg of path) {
      if (isMap(node)) {
        // The last of duplicate keys: that is the value the loaded config holds.
        pair = node.items.findLast((p) => isScalar(p.key) && String(p.key.value) === String(seg)) as Pair<unknown, unknown> | undefined;
        if (!pair) return { pair: undefined, node: node as Node };
        node = pair.value;
      } else if (isSeq(node) && typeof seg === 'number') {
        pair = undefined;
        node = node.items[seg];
      } else {
        return { node: node as Node };
      }
    }
    return { pair, node: (node ?? undefined) as Node | undefined };
  }

  /** Position of the value at `path` (or of the deepest existing ancestor). */
  valuePos(path: Path): { line: number; col: number } {
    const { node, pair } = this.find(path);
    const range = (node as { range?: [number, number] } | undefined)?.range ?? (pair?.key as { range?: [number, number] } | undefined)?.range;
    return this.pos(range ? range[0] : 0);
  }

  /** Position of the key at the end of `path` (unknown keys, step names). */
  keyPos(path: Path): { line: number; col: number } {
    const { pair, node } = this.find(path);
    const range = (pair?.key as { range?: [number, number] } | undefined)?.range ?? (node as { range?: [number, number] } | undefined)?.range;
    return this.pos(range ? range[0] : 0);
  }
}

/** Calls `fn` for every mapping with duplicate keys, at the second occurrence. */
export function findDuplicateKeys(src: YamlSource, fn: (key: string, offset: number) => void): void {
  const walk = (n: unknown): void => {
    if (isMap(n)) {
      const seen = new Set<string>();
      for (const p of n.items) {
        if (isScalar(p.key)) {
          const k = String(p.key.value);
          if (seen.has(k)) fn(k, p.key.range?.[0] ?? 0);
          seen.add(k);
        }
        walk(p.value);
      }
    } else if (isSeq(n)) n.items.forEach(walk);
    else if (isPair(n)) walk(n.value);
  };
  walk(src.doc.contents);
}
