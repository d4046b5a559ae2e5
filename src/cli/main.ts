// Placeholder until the CLI lands.
export async function main(): Promise<void> {
  process.stderr.write('prober: CLI not built yet\n');
  process.exitCode = 2;
}
