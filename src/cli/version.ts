// The package version, read once from package.json (src/cli and dist/cli are
// both two levels below the package root). Its own module: `prober --version`
// answers from here without loading the commands (main.ts).
import { readFileSync } from 'node:fs';

export function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? '0.0.0';
  } catch {
    return '0.0.0';
  }
}
