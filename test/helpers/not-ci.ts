// Ink decides once, when it is first imported, whether it runs in CI (the
// is-in-ci package: CI, CONTINUOUS_INTEGRATION, CI_*), and in CI it writes
// only the last frame at unmount. Component tests read every frame, so they
// must see Ink as on a developer's machine: import this before Ink.
for (const key of Object.keys(process.env)) {
  if (key === 'CI' || key === 'CONTINUOUS_INTEGRATION' || key.startsWith('CI_')) delete process.env[key];
}
