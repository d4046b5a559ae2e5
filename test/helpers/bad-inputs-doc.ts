// Renders the tables of docs/bad-inputs.md from test/helpers/bad-inputs.ts.
// `node --import tsx test/helpers/bad-inputs-doc.ts` rewrites the generated
// part of the doc; test/bad-inputs-grpc.test.ts fails when it is stale.
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CLI_ROWS, type Expected, GRPC_ROWS, type GrpcRow, SERVER_FLAGS, type WireRequest } from './bad-inputs.js';

export const DOC_PATH = fileURLToPath(new URL('../../docs/bad-inputs.md', import.meta.url));
const BEGIN =
  '<!-- BEGIN GENERATED from test/helpers/bad-inputs.ts: edit that file, then run `node --import tsx test/helpers/bad-inputs-doc.ts` -->';
const END = '<!-- END GENERATED -->';

/** Text safe inside a markdown table cell and a code span. */
function cell(text: string): string {
  const escaped = text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  return escaped === '' ? '' : `\`${escaped}\``;
}

function expected(e: Expected): string {
  if (typeof e === 'string') return cell(e);
  return `regex ${cell(`/${e.source}/`)}`;
}

function showRequest(r: WireRequest): string {
  const parts = Object.entries(r).map(([k, v]) => `${k}: ${JSON.stringify(v)}`);
  return parts.join(', ');
}

function showInput(row: GrpcRow): string {
  if (row.show !== undefined) return row.show;
  if (row.rpc === 'raw') return `bytes ${row.raw!.hex === '' ? '(none)' : row.raw!.hex} to ${row.raw!.path}`;
  if (row.rpc === 'Check') return 'grpc.health.v1.Health/Check, no token';
  const auth = row.authorization !== undefined ? `; authorization: ${row.authorization}` : '';
  return `${showRequest(row.request ?? {})}${auth}`;
}

export function renderTables(): string {
  const lines: string[] = [BEGIN, '', '### Servers', '', '| server | flags |', '|---|---|'];
  for (const [k, v] of Object.entries(SERVER_FLAGS)) lines.push(`| ${k} | ${v} |`);
  lines.push(
    '',
    '### gRPC',
    '',
    '| # | id | server | rpc | input | status | message | note |',
    '|---|---|---|---|---|---|---|---|',
  );
  GRPC_ROWS.forEach((r, i) => {
    const rpc = r.rpc === 'raw' ? 'raw' : r.rpc;
    lines.push(
      `| ${i + 1} | ${r.id} | ${r.server} | ${rpc} | ${cell(showInput(r))} | ${r.code} | ${expected(r.message)} | ${r.note ?? ''} |`,
    );
  });
  lines.push(
    '',
    '### CLI',
    '',
    '| # | id | command | server | stderr | exit | note |',
    '|---|---|---|---|---|---|---|',
  );
  CLI_ROWS.forEach((r, i) => {
    const env = r.env
      ? `${Object.entries(r.env)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ')} `
      : '';
    lines.push(
      `| ${i + 1} | ${r.id} | ${cell(`${env}prober ${r.argv.join(' ')}`)} | ${r.server ?? 'embedded'} | ${expected(r.stderr)} | ${r.exit} | ${r.note ?? ''} |`,
    );
  });
  lines.push('', END);
  return lines.join('\n');
}

/** The generated part of the doc as it is on disk. */
export function docTables(doc = readFileSync(DOC_PATH, 'utf8')): string | undefined {
  const a = doc.indexOf(BEGIN);
  const b = doc.indexOf(END);
  return a < 0 || b < 0 ? undefined : doc.slice(a, b + END.length);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const doc = readFileSync(DOC_PATH, 'utf8');
  const current = docTables(doc);
  if (current === undefined) throw new Error(`${DOC_PATH} has no generated section`);
  writeFileSync(DOC_PATH, doc.replace(current, renderTables()));
}
