// The request and response-check flags, under curl's names: -H/--header,
// --user-agent, -d/--data, --data-file, --expect-body, --fail-if-body,
// --expect-header, --fail-if-header. Only the flags' syntax is checked here (and the data
// file read); validation owns sizes, names and regex validity.
import { readFileSync, statSync } from 'node:fs';
import { type Command, InvalidArgumentError, Option, type OptionValues } from '@commander-js/extra-typings';
import type { HeaderField, HeaderMatch, HttpMethod, ProbeInput } from '../probe/types.js';

/** A --data-file larger than this is not read at all (the server's cap is far lower). */
const MAX_DATA_FILE_BYTES = 16 * 1024 * 1024;

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/** 'Name: value' -> [name, value]; the value loses its surrounding blanks, as curl's does. */
function splitHeader(value: string): [string, string] {
  const i = value.indexOf(':');
  if (i <= 0) throw new InvalidArgumentError(`expected 'Name: value', got ${JSON.stringify(value)}`);
  return [value.slice(0, i).trim(), value.slice(i + 1).replace(/^[ \t]+|[ \t]+$/g, '')];
}

function collectHeader(value: string, previous: HeaderField[] | undefined): HeaderField[] {
  const [name, v] = splitHeader(value);
  return [...(previous ?? []), { name, value: v }];
}

function collectHeaderMatch(value: string, previous: HeaderMatch[] | undefined): HeaderMatch[] {
  const [name, regex] = splitHeader(value);
  return [...(previous ?? []), { name, regex }];
}

/** A number as written ("x" stays NaN): validation owns the range and names the field. */
function toNumber(value: string): number {
  return value.trim() === '' ? Number.NaN : Number(value);
}

/** The file's bytes, as curl's --data-binary sends them. */
function readDataFile(path: string): Uint8Array {
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new InvalidArgumentError(`${JSON.stringify(path)} is not a regular file`);
    if (st.size > MAX_DATA_FILE_BYTES) {
      throw new InvalidArgumentError(`${JSON.stringify(path)} is larger than ${MAX_DATA_FILE_BYTES} bytes`);
    }
    return readFileSync(path);
  } catch (err) {
    if (err instanceof InvalidArgumentError) throw err;
    const code = (err as { code?: unknown }).code;
    throw new InvalidArgumentError(
      `cannot read ${JSON.stringify(path)} (${typeof code === 'string' ? code : String(err)})`,
    );
  }
}

/** Adds the request and check flags (see the file comment). */
export function addRequestOptions<A extends unknown[], O extends OptionValues>(cmd: Command<A, O>) {
  return cmd
    .option(
      '-H, --header <header>',
      "request header 'Name: value' (repeatable; replaces Host, User-Agent, Accept)",
      collectHeader,
    )
    .option('-A, --user-agent <name>', 'User-Agent header (default: prober/<version>)')
    .option(
      '-d, --data <string>',
      "request body, sent as given (UTF-8); implies POST unless -X says otherwise (with --module the module's method stays); no Content-Type is added (use -H)",
    )
    .addOption(
      new Option('--data-file <file>', 'request body from a file, bytes as they are; implies POST like -d')
        .argParser(readDataFile)
        .conflicts('data'),
    )
    .option('--expect-body <regex>', 'fail (BODY_MISMATCH) unless the body matches (repeatable)', collect)
    .option('--fail-if-body <regex>', 'fail (BODY_MISMATCH) if the body matches (repeatable)', collect)
    .option(
      '--expect-header <header>',
      "fail (HEADER_MISMATCH) unless 'Name: REGEX' matches a value of that header (repeatable)",
      collectHeaderMatch,
    )
    .option(
      '--fail-if-header <header>',
      "fail (HEADER_MISMATCH) if 'Name: REGEX' matches a value of that header, or the header is missing (repeatable)",
      collectHeaderMatch,
    )
    .option('-L, --location', 'follow redirects (301/302/303/307/308); every hop is timed and reported')
    .option(
      '--max-redirects <n>',
      'with -L: most redirects followed, 1..20 (default 10); one more is TOO_MANY_REDIRECTS',
      toNumber,
    );
}

/** The parsed flags addRequestOptions() adds. */
export interface RequestOptions {
  readonly method?: HttpMethod | undefined;
  readonly header?: HeaderField[] | undefined;
  readonly userAgent?: string | undefined;
  readonly data?: string | undefined;
  readonly dataFile?: Uint8Array | undefined;
  readonly expectBody?: string[] | undefined;
  readonly failIfBody?: string[] | undefined;
  readonly expectHeader?: HeaderMatch[] | undefined;
  readonly failIfHeader?: HeaderMatch[] | undefined;
  readonly location?: true | undefined;
  readonly maxRedirects?: number | undefined;
}

/**
 * Parsed flags -> the request fields; a body without -X is a POST, as in
 * curl, except with a module (`withModule`), whose method then stays: -d
 * replaces the module's body, not its method.
 */
export function requestInput(opts: RequestOptions, withModule = false): Partial<ProbeInput> {
  const body = opts.data !== undefined ? Buffer.from(opts.data, 'utf8') : opts.dataFile;
  const headers = [...(opts.header ?? [])];
  // A -H User-Agent wins over --user-agent, as in curl.
  if (opts.userAgent !== undefined && !headers.some((h) => h.name.toLowerCase() === 'user-agent')) {
    headers.unshift({ name: 'User-Agent', value: opts.userAgent });
  }
  const method = opts.method ?? (body !== undefined && !withModule ? 'POST' : undefined);
  return {
    ...(method !== undefined ? { method } : {}),
    ...(headers.length > 0 ? { headers } : {}),
    ...(body !== undefined ? { body } : {}),
    ...(opts.expectBody ? { expectBody: opts.expectBody } : {}),
    ...(opts.failIfBody ? { failIfBody: opts.failIfBody } : {}),
    ...(opts.expectHeader ? { expectHeader: opts.expectHeader } : {}),
    ...(opts.failIfHeader ? { failIfHeader: opts.failIfHeader } : {}),
    ...(opts.location ? { followRedirects: true } : {}),
    ...(opts.maxRedirects !== undefined ? { maxRedirects: opts.maxRedirects } : {}),
  };
}
