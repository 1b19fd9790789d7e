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
import { decodeBase64Text } from './decode.js';
import { evidenceAt } from './evidence.js';
import type { DetectorInput, PayloadFinding } from './types.js';

/**
 * Elements that run script, load active content or rewrite the page on their own, without any attribute that is
 * dangerous by itself. Ordinary markup (`<a href>`, `<b>`, `<span class>`, `<img src>`) is not XSS until it carries
 * an event handler or a script URL, which the other patterns catch.
 */
const ACTIVE_TAGS =
  'script|iframe|frame|frameset|object|embed|applet|svg|math|meta|link|style|base|isindex|xml|xss|import|portal|handler|listener|animate|set|template|noscript|noembed|xmp|plaintext|html:script|vmlframe|bgsound|layer|ilayer';
/** An active tag, also behind an XML namespace prefix (`<svg:svg>`, `<v:vmlframe`, `< x: script`). */
const TAG_OPEN = new RegExp(`<\\s*/?\\s*(?:[a-z]{0,12}\\s*:\\s*)?(?:${ACTIVE_TAGS})(?=[\\s/>+"'\`=]|$)`, 'i');
/** Any element with an event-handler attribute, quoted or not: `<x onclick=`, `<a/onmouseover =`. */
const TAG_WITH_HANDLER = /<[a-z!?][^<>]{0,200}?[\s/"'`;]on[a-z]{3,}\s*=/i;
/** A broken-out attribute: `" onfocus=`, `' onmouseover =`, `" type=image src=x onerror=`. */
const ATTRIBUTE_BREAKOUT =
  /["'`][\s/]{0,20}(?:[\w-]{1,30}(?:=[^\s<>"'=/]{0,60})?[\s/]{1,20}){0,4}[^\s=<>"'/]{0,60}[\s/]{0,20}\bon[a-z]{3,}\s*=\s*[^\s]/i;
/**
 * A DOM event handler written as an attribute outside any tag (`onmouseover=alert(1)`, `; onload=`, a parameter
 * named ` onfocus`): the value is meant to land inside a tag. Only real event names count, so `online=true` and
 * `onion=1` stay ordinary.
 */
const BARE_HANDLER =
  /(?:^|[\s"'`;/,(])on(?:load|error|click|dblclick|auxclick|contextmenu|mouse(?:over|out|down|up|move|enter|leave|wheel)|pointer[a-z]{2,12}|key(?:down|up|press)|focus(?:in|out)?|blur|change|input|submit|reset|select|scroll|wheel|drag[a-z]{0,5}|drop|copy|cut|paste|toggle|animation(?:start|end|iteration)|transition(?:start|end|run|cancel)|begin|end|repeat|play|playing|pause|ended|resize|hashchange|popstate|message|beforeunload|unload|pageshow|pagehide|show|touch(?:start|end|move|cancel)|webkit[a-z]{4,40}|zoom|start|finish|beforeprint|afterprint|invalid|search|loadstart|loadend|loadeddata|progress|canplay(?:through)?|timeupdate|volumechange|seek(?:ing|ed)|readystatechange|propertychange|activate|beforeactivate|beforescriptexecute|afterscriptexecute)\s*=\s*(?:[^\s=]|$)/i;
/**
 * A script URL. URL parsers drop tabs and line breaks anywhere, so those may sit inside the scheme and after the
 * colon; a space after the colon is prose (`JavaScript: The Good Parts`) unless code follows (`javascript: alert(1)`).
 */
const SCRIPT_SCHEME =
  /(?:^|[\s"'`=(,:;<>[{\\/])(?:j\W*a\W*v\W*a|v\W*b|l\W*i\W*v\W*e|m\W*o\W*c\W*h\W*a)\W*s\W*c\W*r\W*i\W*p\W*t\s*:(?=[\t\n\r]*(?:\S|$)|[^\S\t\n\r]+[\w$.]{1,40}\s*[(`=])/i;
const DATA_HTML =
  /\bdata\s*:\s*(?:text\/html|image\/svg\+xml|application\/(?:xhtml\+xml|x-javascript|javascript)|text\/javascript)/i;
/** CSS that runs script: `expression(`, `-moz-binding:`, `behavior:url(` (and `behaviour`, `binding`), `url(javascript`. */
const CSS_SCRIPT =
  /(?:\bexpression\s*\(|-moz-binding\s*:|\b(?:behaviou?r|binding)\s*:\s*url\s*\(|@import\b[^;]*\bjavascript|\burl\s*\(\s*['"]?\s*(?:javascript|vbscript)\b)/i;
/**
 * Legacy Internet Explorer script carriers: data binding (`datasrc=`, `dataformatas=html`), HTML components and
 * behaviours (`<?import ... implementation=`, `<?xml:namespace`), and Netscape JavaScript entities (`&{...};`).
 */
const LEGACY_CARRIER =
  /<[a-z][^<>]{0,200}?\bdata(?:src|fld|formatas)\s*=|<\s*\??\s*import\s*(?:namespace|implementation)\b|<\?\s*xml:namespace\b|&\{[^{}]{1,200}\};/i;
/** JavaScript with its tags stripped by a filter, still runnable once reflected: `scriptalert(1)/script`. */
const STRIPPED_SCRIPT = /(?<![a-z])script\W{0,2}(?:alert|prompt|confirm|eval|document\.)[\s\S]{0,200}\/script\b/i;
/**
 * Script without letters or parentheses: JSFuck-style coercions (`![]`, `!![]`, `+[]`) and calls through tagged
 * templates (`[].sort.call\`${alert}1\``, `Reflect.apply.call\`\``).
 */
const SCRIPT_WITHOUT_CALLS = /!!?\s*\[\s*\]|\.\s*(?:\/\*[^*]{0,20}\*\/\s*)?(?:call|apply)\s*`/;
/** `mocha:` was Netscape's name for `javascript:`; counted where a URL starts, never in prose (`mocha: 4`). */
const MOCHA_SCHEME = /(?:^|[=("'`])\s*mocha:(?=\S)/i;
/** A JavaScript string or statement breakout that calls something: `";alert(1)//`, `'-alert(1)-'`, `</script>`. */
const JS_BREAKOUT =
  /["'`]\s*(?:[;,+\-*/|&)}\]]\s*)+[\w$.[\]'"]*\b(?:alert|prompt|confirm|eval|fetch|import|settimeout|setinterval|function|document\.|window\.|top\.|self\.|parent\.|location|constructor)\b/i;
const TEMPLATE_ESCAPE = /\{\{[^}]{0,100}(?:constructor|\$eval|\$on|alert\s*\(|\[\s*['"]constructor)/i;
const SCRIPT_CALL =
  /\b(?:alert|prompt|confirm)\s*(?:\(|`)[^)]{0,60}(?:\)|`)|\bdocument\s*\.\s*(?:cookie|domain|write(?:ln)?|location|createelement|queryselector(?:all)?|getelementby[a-z]{2,9}|body\s*\.\s*(?:appendchild|innerhtml))\b|\bString\.fromCharCode\s*\(/i;

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
  { re: BARE_HANDLER, confidence: 0.7 },
  { re: LEGACY_CARRIER, confidence: 0.75 },
  { re: STRIPPED_SCRIPT, confidence: 0.7 },
  { re: SCRIPT_WITHOUT_CALLS, confidence: 0.7 },
  { re: MOCHA_SCHEME, confidence: 0.8 },
  { re: SCRIPT_CALL, confidence: 0.6, needsMarkup: true },
];

/**
 * `on` and 3+ letters before `=`. Only the first `on` of a run of letters starts a match: a later one reads to the same
 * end of the run and can match only where the first does, and trying each (`onon...` repeated) reads the rest of the
 * run each time, work that grows with the square of its length.
 */
const HANDLER_HINT = /on(?<!on[a-z]*?on)[a-z]{3,}\s*=/i;
const MARKUP_HINT = /[<>"'`]|&#|\\u00|%3c/i;
/** CSS escapes (`\\3c`, `\\0075 `): a browser reads them inside `style` attributes and style sheets. */
const CSS_ESCAPE = /\\([0-9a-f]{1,6})\s?/gi;
/** A `data:` URL with a base64 body, whatever media type it claims. */
const DATA_BASE64 = /\bdata\s*:[^,]{0,80}?;\s*base64\s*,\s*([a-z0-9+/]{16,}={0,2})/i;

/**
 * Detect cross-site scripting in one value (all its decoded forms).
 *
 * @example
 * detectXss({ forms: ['<svg/onload=alert(1)>'] }); // { class: 'xss', ... }
 * detectXss({ forms: ['I <3 cats'] });              // undefined
 */
export function detectXss(input: DetectorInput): PayloadFinding | undefined {
  let best: PayloadFinding | undefined;
  for (const form of withHiddenForms(input.forms)) {
    if (form.length < 4) continue;
    // A tag opener needs `<`; a scheme needs `:`; breakouts need a quote: skip the regexes that cannot match.
    const hasAngle = form.includes('<');
    // Every handler pattern needs `on...=`: one cheap look saves three costly ones on values with quotes.
    const hasHandler = HANDLER_HINT.test(form);
    for (const p of PATTERNS) {
      if (
        (p.re === TAG_OPEN || p.re === TAG_WITH_HANDLER || p.re === LEGACY_CARRIER) &&
        !hasAngle &&
        !form.includes('&{')
      )
        continue;
      if ((p.re === TAG_WITH_HANDLER || p.re === ATTRIBUTE_BREAKOUT || p.re === BARE_HANDLER) && !hasHandler) continue;
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

/** The decoded forms plus what CSS escapes and `data:...;base64,` bodies hide, when a value has them. */
function withHiddenForms(forms: readonly string[]): readonly string[] {
  if (!forms.some((form) => form.includes('\\') || /data\s*:/i.test(form))) return forms;
  const out = [...forms];
  for (const form of forms) {
    if (/\\[0-9a-f]/i.test(form)) {
      const css = form.replace(CSS_ESCAPE, (_m, hex: string) => {
        const code = Number.parseInt(hex, 16);
        return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : '';
      });
      if (css !== form) out.push(css);
    }
    const data = DATA_BASE64.exec(form);
    const body = data === null ? undefined : decodeBase64Text(data[1] as string);
    if (body !== undefined) out.push(body);
  }
  return out;
}

/** A dangerous tag name counts when it is followed by what a tag has: attributes, `>` or the end of the value. */
function tagLooksReal(text: string, end: number): boolean {
  const rest = text.slice(end, end + 300);
  return rest === '' || /^[\s/+]*(?:>|[a-z-]+\s*(?:=|>|\s|$))/i.test(rest) || /^[^<>]*>/.test(rest);
}
