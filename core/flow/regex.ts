/**
 * Regular expressions written in voicebot.yaml (listen `regex:` routes,
 * branch `matches:`). JavaScript has no inline flags, but people write the
 * PCRE/Python form `(?i)sales`; a leading `(?flags)` group is turned into
 * RegExp flags. Matching is case-insensitive anyway (speech recognisers
 * capitalise at will). Compiled once per source string.
 */
const cache = new Map<string, RegExp>();
const INLINE_FLAGS = /^\(\?([imsu]+)\)/;

/** Compiles a config regex; throws SyntaxError with the engine's message when it is invalid. */
export function configRegex(src: string): RegExp {
  let re = cache.get(src);
  if (!re) {
    const m = INLINE_FLAGS.exec(src);
    const flags = new Set(['i', ...(m ? m[1] : '')]);
    re = new RegExp(m ? src.slice(m[0].length) : src, [...flags].join(''));
    cache.set(src, re);
  }
  return re;
}

/** undefined when `src` compiles, else the reason it does not. */
export function regexProblem(src: string): string | undefined {
  try {
    configRegex(src);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}
