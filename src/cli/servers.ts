// The server list of probe, stream and watch: repeated --server [NAME=]ADDR
// and --servers FILE (YAML or JSON). One parser, so every command names and
// secures regions the same way. Paths in a file are relative to the file.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { InvalidArgumentError } from '@commander-js/extra-typings';
import { ConfigError } from '../common/errors.js';
import { parseServerAddress } from './options.js';
import type { ConnectionFlags } from './tls-flags.js';

// yaml (~80 modules) took a third of `prober --version`: loaded only to read a
// --servers file (sync, as the callers are), as web-config.ts does.
const lazyRequire = createRequire(import.meta.url);

/** One prober server to talk to, by the name its rows and lines carry. */
export interface ServerEntry {
  /** The region name: NAME of NAME=ADDR, a file's `name`, or the address. */
  readonly name: string;
  readonly address: string;
  /**
   * Per-server TLS and token from a servers file (paths resolved); each key
   * given wins over the command's own flag. Undefined: the command's flags.
   */
  readonly connection?: ConnectionFlags;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** `NAME=ADDR` or `ADDR` (then the address is the name). */
export function parseServerFlag(value: string): ServerEntry {
  const eq = value.indexOf('=');
  if (eq > 0 && NAME.test(value.slice(0, eq).trim())) {
    return { name: value.slice(0, eq).trim(), address: parseServerAddress(value.slice(eq + 1)) };
  }
  if (eq >= 0)
    throw new InvalidArgumentError(`expected [NAME=]host:port with NAME like eu-west, got ${JSON.stringify(value)}`);
  const address = parseServerAddress(value);
  return { name: address, address };
}

/** Commander parser for a repeatable -s/--server. */
export function collectServers(value: string, previous: readonly ServerEntry[] | undefined): ServerEntry[] {
  return [...(previous ?? []), parseServerFlag(value)];
}

const ENTRY_KEYS = new Set(['name', 'address', 'tls', 'token_file']);
const TLS_KEYS = new Set(['ca', 'cert', 'key', 'server_name']);

function fail(source: string, key: string, message: string): never {
  throw new ConfigError('--servers', `--servers ${source}: ${key}: ${message}`);
}

function str(v: unknown, source: string, key: string): string {
  if (typeof v !== 'string' || v.trim() === '') fail(source, key, 'expected a non-empty string');
  return v.trim();
}

function tlsFlags(v: unknown, source: string, key: string, dir: string): ConnectionFlags {
  if (v === true) return { tls: true };
  if (v === false || v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v))
    fail(source, key, 'expected true, false or a mapping of ca, cert, key, server_name');
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (!TLS_KEYS.has(k)) fail(source, `${key}.${k}`, 'unknown key (ca, cert, key, server_name)');
  const path = (k: string): string | undefined =>
    o[k] === undefined ? undefined : resolve(dir, str(o[k], source, `${key}.${k}`));
  const [ca, cert, tlsKey] = [path('ca'), path('cert'), path('key')];
  if ((cert === undefined) !== (tlsKey === undefined))
    fail(source, key, 'a client certificate needs both cert and key');
  return {
    tls: true,
    ...(ca !== undefined ? { ca } : {}),
    ...(cert !== undefined ? { cert } : {}),
    ...(tlsKey !== undefined ? { key: tlsKey } : {}),
    ...(o.server_name !== undefined ? { serverName: str(o.server_name, source, `${key}.server_name`) } : {}),
  };
}

function fileEntry(v: unknown, source: string, key: string, dir: string): ServerEntry {
  if (typeof v !== 'object' || v === null || Array.isArray(v))
    fail(source, key, 'expected a mapping with name and address');
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (!ENTRY_KEYS.has(k)) fail(source, `${key}.${k}`, 'unknown key (name, address, tls, token_file)');
  const address = str(o.address, source, `${key}.address`);
  try {
    parseServerAddress(address);
  } catch (err) {
    fail(source, `${key}.address`, (err as Error).message);
  }
  const name = o.name === undefined ? address : str(o.name, source, `${key}.name`);
  if (o.name !== undefined && !NAME.test(name))
    fail(source, `${key}.name`, `expected letters, digits, . _ - (got ${JSON.stringify(name)})`);
  const connection: ConnectionFlags = {
    ...tlsFlags(o.tls, source, `${key}.tls`, dir),
    ...(o.token_file !== undefined ? { tokenFile: resolve(dir, str(o.token_file, source, `${key}.token_file`)) } : {}),
  };
  return { name, address, ...(Object.keys(connection).length > 0 ? { connection } : {}) };
}

/**
 * A servers document (YAML, of which JSON is a subset): `servers:` a list of
 * { name, address, tls?: true | { ca, cert, key, server_name }, token_file }.
 * `source` names the file in errors; `dir` resolves relative paths.
 */
export function parseServers(text: string, source: string, dir = '.'): ServerEntry[] {
  let doc: unknown;
  try {
    doc = (lazyRequire('yaml') as typeof import('yaml')).parse(text);
  } catch (err) {
    fail(source, '(file)', `not YAML or JSON: ${(err as Error).message.split('\n')[0]}`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc))
    fail(source, '(top)', 'expected a mapping with a servers list');
  const top = doc as Record<string, unknown>;
  for (const k of Object.keys(top)) if (k !== 'servers') fail(source, k, 'unknown key (servers)');
  const list = top.servers;
  if (!Array.isArray(list) || list.length === 0) fail(source, 'servers', 'expected a non-empty list');
  return checkUnique(
    list.map((v, i) => fileEntry(v, source, `servers[${i}]`, dir)),
    source,
  );
}

/** The servers of `--servers FILE`. */
export function parseServersFile(path: string): ServerEntry[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(
      '--servers',
      `--servers: cannot read ${path} (${(err as { code?: string }).code ?? String(err)})`,
    );
  }
  return parseServers(text, path, dirname(resolve(path)));
}

function checkUnique(entries: ServerEntry[], source: string): ServerEntry[] {
  const seen = new Set<string>();
  for (const e of entries) {
    if (seen.has(e.name))
      throw new ConfigError('--servers', `${source}: server name ${JSON.stringify(e.name)} given twice`);
    seen.add(e.name);
  }
  return entries;
}

/** --server flags then the file's servers; names must be unique across both. */
export function resolveServers(flags: readonly ServerEntry[] | undefined, file: string | undefined): ServerEntry[] {
  const all = [...(flags ?? []), ...(file === undefined ? [] : parseServersFile(file))];
  return checkUnique(all, '--server/--servers');
}

/** The connection flags for one server: its file settings over the command's flags. */
export function entryFlags(entry: ServerEntry, command: ConnectionFlags): ConnectionFlags {
  return entry.connection === undefined ? command : { ...command, ...entry.connection };
}
