// Credentials never leave the server in a URL: log lines, metric labels and
// error messages all show a URL through redactUrl.

/**
 * `url` without its userinfo (`user:pass@`), whether or not it parses. A URL
 * that parses with a user or password comes back as its href without them;
 * one with a host and neither is returned as given. Any other string
 * (unparsable, or hostless like `user:pass@host`) loses everything between the `//` (or its start) and the last `@` before
 * the first `?` or `#`: a raw `/` in a password is what makes such a URL
 * unparsable, so stopping at `/` could leave it in view, and a path cut from
 * an invalid URL costs nothing.
 */
export function redactUrl(url: string): string {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (parsed !== undefined && (parsed.username !== '' || parsed.password !== '')) {
    parsed.username = '';
    parsed.password = '';
    return parsed.href;
  }
  // A URL with a host and no userinfo has none; without a host
  // (`user:pass@host` parses, as scheme `user:`), fall through.
  if (parsed !== undefined && parsed.host !== '') return url;
  const slashes = url.indexOf('//');
  const start = slashes === -1 ? 0 : slashes + 2;
  const rest = url.slice(start);
  const end = rest.search(/[?#]/);
  const at = (end === -1 ? rest : rest.slice(0, end)).lastIndexOf('@');
  return at === -1 ? url : url.slice(0, start) + rest.slice(at + 1);
}
