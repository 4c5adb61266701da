import { VoicebotError } from '../errors/index.js';
import { stringify, type TemplateScope, type Templates } from './templates.js';

/**
 * Renders a URL template so that a value can never change the URL's shape.
 * A caller who says `x&admin=1#frag` into `/users/{{choice}}/info` must give
 * `/users/x%26admin%3D1%23frag/info`, not a new query and a fragment.
 *
 * - A placeholder that opens the template (`{{API}}/book`, `{{BOOKING_URL}}`)
 *   is the base URL, written by the config's author: inserted as is.
 * - Every other placeholder is percent-encoded as one component
 *   (encodeURIComponent: `/ ? # & = +` and spaces included), in the path as
 *   well as in the query and the fragment. In the path, a value that is
 *   exactly `.` or `..` is refused: URL parsers resolve it (even encoded) as
 *   a dot segment, which would climb out of the intended path.
 * - `{{name|raw}}` opts out: the value is inserted unencoded. Use it only for
 *   values the config controls (a path prefix in vars), never for caller input.
 */
export function renderUrl(templates: Templates, src: string, scope: TemplateScope): string {
  const t = templates.compile(src);
  if (t.literal) return src;
  let out = '';
  let inPath = true;
  t.parts.forEach((p, i) => {
    if (typeof p === 'string') {
      out += p;
      if (/[?#]/.test(p)) inPath = false;
      return;
    }
    const value = stringify(templates.resolve(p.path.join('.'), scope));
    if (p.raw || i === 0) {
      out += value;
      return;
    }
    if (inPath && (value === '.' || value === '..')) {
      throw new VoicebotError('VB_ERR_FLOW_URL', { name: p.path.join('.'), value, url: src });
    }
    out += encodeURIComponent(value);
  });
  return out;
}
