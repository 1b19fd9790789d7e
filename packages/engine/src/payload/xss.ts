/**
 * Cross-site scripting: markup or script that a browser would run if the value were reflected into a page.
 *
 * Looked for by structure, on the decoded value with whitespace and control characters inside scheme names ignored:
 * - an HTML tag that can run script or load content (`<script`, `<svg`, `<iframe`, `<img`, `<object`...), or any
 *   tag carrying an event-handler attribute (`<x onpointerover=...>`), or a closing `</script`;
 * - an attribute breakout: a quote or `>` followed by an event handler (`" autofocus onfocus=...`) or a new tag;
 * - script URLs: `javascript:`, `vbscript:`, `livescript:`, `data:text/html`, `data:...;base64` with markup;
 * - CSS and legacy script carriers: `expression(`, `-moz-binding`, `behavior:url(`;
 * - a JavaScript string breakout followed by a call (`";alert(1)//`, `'-confirm(1)-'`) and template-engine
 *   sandbox escapes (`{{constructor.constructor(`).
 * A `<` not followed by a tag name (`<3`, `a < b`) and `&` that starts no reference (`a&b`) stay harmless.
 */
import { evidenceAt } from './evidence.js';
import type { DetectorInput, PayloadFinding } from './types.js';

/**
 * Elements that run script, load active content or rewrite the page on their own, without any attribute that is
 * dangerous by itself. Ordinary markup (`<a href>`, `<b>`, `<span class>`, `<img src>`) is not XSS until it carries
 * an event handler or a script URL, which the other patterns catch.
 */
const ACTIVE_TAGS =
  'script|iframe|frame|frameset|object|embed|applet|svg|math|meta|link|style|base|isindex|xml|xss|import|portal|handler|listener|animate|set|template|noscript|noembed|xmp|plaintext|html:script|vmlframe|bgsound|layer|ilayer';
const TAG_OPEN = new RegExp(`<\\s*/?\\s*(?:${ACTIVE_TAGS})(?=[\\s/>+"'\`=]|$)`, 'i');
/** Any element with an event-handler attribute, quoted or not: `<x onclick=`, `<a/onmouseover =`. */
const TAG_WITH_HANDLER = /<[a-z!?][^<>]{0,200}?[\s/"'`;]on[a-z]{3,}\s*=/i;
/** A broken-out attribute: `" onfocus=`, `' onmouseover =`. */
const ATTRIBUTE_BREAKOUT = /["'`]\s*(?:\/|\s)*[^\s=<>"']*[\s/]*\bon[a-z]{3,}\s*=\s*[^\s]/i;
const SCRIPT_SCHEME =
  /(?:^|[\s"'`=(,:;<>[{\\/])(?:j\W*a\W*v\W*a|v\W*b|l\W*i\W*v\W*e|m\W*o\W*c\W*h\W*a)\W*s\W*c\W*r\W*i\W*p\W*t\s*:/i;
const DATA_HTML =
  /\bdata\s*:\s*(?:text\/html|image\/svg\+xml|application\/(?:xhtml\+xml|x-javascript|javascript)|text\/javascript)/i;
const CSS_SCRIPT = /(?:\bexpression\s*\(|-moz-binding\s*:|\bbehavior\s*:\s*url\s*\(|@import\b[^;]*\bjavascript)/i;
/** A JavaScript string or statement breakout that calls something: `";alert(1)//`, `'-alert(1)-'`, `</script>`. */
const JS_BREAKOUT =
  /["'`]\s*(?:[;,+\-*/|&)}\]]\s*)+[\w$.[\]'"]*\b(?:alert|prompt|confirm|eval|fetch|import|settimeout|setinterval|function|document\.|window\.|top\.|self\.|parent\.|location|constructor)\b/i;
const TEMPLATE_ESCAPE = /\{\{[^}]{0,100}(?:constructor|\$eval|\$on|alert\s*\(|\[\s*['"]constructor)/i;
const SCRIPT_CALL =
  /\b(?:alert|prompt|confirm)\s*(?:\(|`)[^)]{0,60}(?:\)|`)|\bdocument\s*\.\s*(?:cookie|domain|write|location)\b|\bString\.fromCharCode\s*\(/i;

interface Pattern {
  readonly re: RegExp;
  readonly confidence: number;
  /** Only counts when the value also shows some markup or script structure. */
  readonly needsMarkup?: boolean;
}

const PATTERNS: readonly Pattern[] = [
  { re: TAG_WITH_HANDLER, confidence: 0.95 },
  { re: TAG_OPEN, confidence: 0.85 },
  { re: SCRIPT_SCHEME, confidence: 0.9 },
  { re: DATA_HTML, confidence: 0.85 },
  { re: ATTRIBUTE_BREAKOUT, confidence: 0.85 },
  { re: CSS_SCRIPT, confidence: 0.8 },
  { re: JS_BREAKOUT, confidence: 0.75 },
  { re: TEMPLATE_ESCAPE, confidence: 0.75 },
  { re: SCRIPT_CALL, confidence: 0.6, needsMarkup: true },
];

const MARKUP_HINT = /[<>"'`]|&#|\\u00|%3c/i;

/**
 * Detect cross-site scripting in one value (all its decoded forms).
 *
 * @example
 * detectXss({ forms: ['<svg/onload=alert(1)>'] }); // { class: 'xss', ... }
 * detectXss({ forms: ['I <3 cats'] });              // undefined
 */
export function detectXss(input: DetectorInput): PayloadFinding | undefined {
  let best: PayloadFinding | undefined;
  for (const form of input.forms) {
    if (form.length < 4) continue;
    // A tag opener needs `<`; a scheme needs `:`; breakouts need a quote: skip the regexes that cannot match.
    const hasAngle = form.includes('<');
    for (const p of PATTERNS) {
      if ((p.re === TAG_OPEN || p.re === TAG_WITH_HANDLER) && !hasAngle) continue;
      if (best !== undefined && best.confidence >= p.confidence) continue;
      if (p.needsMarkup === true && !MARKUP_HINT.test(form)) continue;
      const m = p.re.exec(form);
      if (m === null) continue;
      if (p.re === TAG_OPEN && !tagLooksReal(form, m.index + m[0].length)) continue;
      best = { class: 'xss', confidence: p.confidence, evidence: evidenceAt(form, m.index, m[0].length) };
    }
  }
  return best;
}

/** A dangerous tag name counts when it is followed by what a tag has: attributes, `>` or the end of the value. */
function tagLooksReal(text: string, end: number): boolean {
  const rest = text.slice(end, end + 300);
  return rest === '' || /^[\s/+]*(?:>|[a-z-]+\s*(?:=|>|\s|$))/i.test(rest) || /^[^<>]*>/.test(rest);
}
