// The layering of src/ (docs/architecture.md), checked on every import,
// static or dynamic: dependencies point down, server/ and client/ never meet,
// and only the wire code converts generated types.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = resolve(dirname(fileURLToPath(import.meta.url)), '../src');

/** Folder -> the src/ folders it may import (besides itself). */
const ALLOWED: Readonly<Record<string, readonly string[]>> = {
  common: [],
  stats: [],
  probe: ['common', 'stats'],
  wire: ['generated', 'probe', 'stats', 'common'],
  client: ['generated', 'wire', 'probe', 'stats', 'common'],
  server: ['generated', 'wire', 'probe', 'stats', 'common'],
  tui: ['client', 'probe', 'stats', 'common'],
  cli: ['client', 'server', 'tui', 'wire', 'probe', 'stats', 'common'],
};

/** Outside wire/, generated code is used only to register or call the service (no conversion). */
const GENERATED_WIRING = new Set(['server/service.ts', 'server/operability.ts', 'client/client.ts']);

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'generated' ? [] : sources(p);
    return /\.tsx?$/.test(e.name) ? [p] : [];
  });
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specs = [...text.matchAll(/(?:from|import)\s*\(?\s*['"](\.[^'"]+)['"]/g)].map((m) => m[1]!);
  return specs.map((s) => relative(SRC, resolve(dirname(file), s)));
}

test('every import in src/ follows the layering', () => {
  const violations: string[] = [];
  const files = sources(SRC);
  assert.ok(files.length > 40, `found only ${files.length} source files under ${SRC}`);
  for (const file of files) {
    const rel = relative(SRC, file);
    const folder = rel.split('/')[0]!;
    const allowed = ALLOWED[folder];
    if (allowed === undefined) {
      violations.push(
        `${rel}: folder ${folder}/ is not in the layering (add it to docs/architecture.md and this test)`,
      );
      continue;
    }
    for (const target of importsOf(file)) {
      const to = target.split('/')[0]!;
      if (to === folder) continue;
      if (to.startsWith('..')) continue; // package.json and the like, outside src/
      if (!allowed.includes(to)) violations.push(`${rel} imports ${target}: ${folder}/ may not depend on ${to}/`);
      if (to === 'generated' && folder !== 'wire' && !GENERATED_WIRING.has(rel)) {
        violations.push(`${rel} imports ${target}: only src/wire converts generated types`);
      }
    }
  }
  assert.deepEqual(violations, []);
});

test('the layering check sees a forbidden import', () => {
  // Guards the regex above: a checker that finds no imports would pass anything.
  const imports = importsOf(join(SRC, 'server', 'service.ts'));
  assert.ok(
    imports.some((i) => i.startsWith('wire/')),
    `expected service.ts to import wire/, saw ${imports.join(', ')}`,
  );
  assert.ok(!imports.some((i) => i.startsWith('client/')));
});
