// Checks on a URL string as given, before `new URL` can rewrite it: shared by
// the endpoint and proxy_url.
import { InvalidArgumentError } from './errors.js';

// C0 controls and DEL: `new URL` strips or escapes them, so a different URL would be used than asked.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding them is the point
const CONTROL_CHAR = /[\u0000-\u001f\u007f]/;

/** At most `maxBytes` of UTF-8 and no control character. Messages never echo the URL. */
export function checkRawUrl(value: string, field: string, maxBytes: number): void {
  const bytes = Buffer.byteLength(value, 'utf8');
  if (bytes > maxBytes)
    throw new InvalidArgumentError(field, `${field} must be at most ${maxBytes} bytes long (got ${bytes})`);
  const m = CONTROL_CHAR.exec(value);
  if (m !== null) {
    const code = m[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
    throw new InvalidArgumentError(
      field,
      `${field} must not contain control characters (found U+${code} at index ${m.index})`,
    );
  }
}
