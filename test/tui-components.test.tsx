/** @jsxRuntime automatic */
/** @jsxImportSource react */
// Component tests: synthetic attempts in, lastFrame() out.
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
// First: Ink must not think it runs in CI (it would draw only the last frame).
import './helpers/not-ci.js';
import { render, cleanup } from 'ink-testing-library';
import { Histogram } from '../src/tui/components/Histogram.js';
import { Outcomes } from '../src/tui/components/Outcomes.js';
import { Waterfall } from '../src/tui/components/Waterfall.js';
import { RegionPanel } from '../src/tui/components/RegionPanel.js';
import { App } from '../src/tui/components/App.js';
import { DOWN_STREAK, StreamFeed, type FeedSnapshot, type WatchEvent } from '../src/tui/feed.js';
import { verdict } from '../src/tui/compare.js';
import { panelHeight, panelLayout, sectionRows } from '../src/tui/layout.js';
import { ThemeProvider } from '../src/tui/theme.js';
import { RunStats } from '../src/stats/index.js';
import { endlessSource, failedAttempt, idleSource, okAttempt, scriptedSource } from './helpers/tui-synthetic.js';
import { sleep, waitFor as poll } from './helpers/wait.js';

afterEach(() => cleanup());

const PARTIAL = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];
/** Bar length in eighths of a cell. */
function barEighths(line: string): number {
  let n = 0;
  for (const ch of line) {
    if (ch === '█') n += 8;
    else if (PARTIAL.includes(ch) && ch !== '') n += PARTIAL.indexOf(ch);
  }
  return n;
}

async function settled(feed: StreamFeed): Promise<void> {
  await feed.start();
}

function frameLines(frame: string | undefined): string[] {
  assert.ok(frame !== undefined, 'a frame was rendered');
  return frame.split('\n');
}

test('histogram: bars proportional to counts, counts printed, empty buckets blank', () => {
  const histogram = {
    buckets: [
      { upperBoundMs: 1, count: 40 },
      { upperBoundMs: 2, count: 20 },
      { upperBoundMs: 5, count: 0 },
      { upperBoundMs: 10, count: 10 },
      { upperBoundMs: 20, count: 1 },
    ],
    overflow: 0,
  };
  const { lastFrame } = render(<Histogram histogram={histogram} width={60} rows={10} />);
  const lines = frameLines(lastFrame());
  assert.equal(lines.length, 5);
  const lens = lines.map(barEighths);
  const full = lens[0]!;
  assert.ok(full > 8 * 30, `the largest bucket uses most of the width (${full / 8} cells)`);
  for (const [i, count] of [40, 20, 0, 10, 1].entries()) {
    const want = (count / 40) * full;
    assert.ok(
      Math.abs(lens[i]! - Math.max(count > 0 ? 1 : 0, want)) <= 1,
      `row ${i}: ${lens[i]} eighths, want ~${want}`,
    );
    if (count > 0) assert.match(lines[i]!, new RegExp(` ${count}$`));
  }
  assert.match(lines[0]!, /1\.00ms/);
  assert.match(lines[3]!, /10\.0ms/);
  assert.ok(lens[4]! >= 1, 'a single attempt is still visible');
});

test('waterfall: the proxy row only when the phase happened, within the six lines the layout budgets', () => {
  const lines = (phases: Record<string, number>) =>
    frameLines(render(<Waterfall phases={phases} width={50} />).lastFrame()).map((l) => l.trim());
  const plain = lines({ dnsMs: 1, connectMs: 2, tlsMs: 3, ttfbMs: 4, transferMs: 5 });
  assert.equal(plain.length, 6);
  assert.ok(!plain.some((l) => l.startsWith('proxy')));
  // Through a proxy by IP: no dns row, a proxy row instead.
  const proxied = lines({ connectMs: 2, proxyMs: 6, tlsMs: 3, ttfbMs: 4, transferMs: 5 });
  assert.equal(proxied.length, 6);
  assert.ok(proxied.some((l) => l.startsWith('proxy')));
  assert.ok(!proxied.some((l) => l.startsWith('dns')));
  // All six happened: the first moves into the title line.
  const all = lines({ dnsMs: 1, connectMs: 2, proxyMs: 6, tlsMs: 3, ttfbMs: 4, transferMs: 5 });
  assert.equal(all.length, 6);
  assert.match(all[0] ?? '', /dns 1\.00ms/);
});

test('histogram: overflow row and the empty state', () => {
  const { lastFrame, rerender } = render(
    <Histogram histogram={{ buckets: [{ upperBoundMs: 5, count: 4 }], overflow: 2 }} width={40} rows={5} />,
  );
  const lines = frameLines(lastFrame());
  assert.equal(lines.length, 2);
  assert.match(lines[1]!, />5\.00ms.* 2$/);
  rerender(<Histogram histogram={{ buckets: [], overflow: 0 }} width={40} rows={5} />);
  assert.match(lastFrame() ?? '', /waiting for responses/);
});

test('panel: live percentiles, min/avg/max match the statistics', async () => {
  const lat = Array.from({ length: 100 }, (_, i) => i + 1); // 1..100 ms
  const events: WatchEvent[] = lat.map((ms, i) => ({ kind: 'attempt', attempt: okAttempt(i + 1, ms) }));
  const feed = new StreamFeed(scriptedSource('srv-a:50051', events), { repetitions: 100 });
  await settled(feed);
  const layout = panelLayout(100, 30);
  const snap = feed.snapshot({ histogramRows: layout.histogramRows, recent: layout.statsWidth });
  const { lastFrame } = render(<RegionPanel snapshot={snap} layout={layout} />);
  const frame = lastFrame() ?? '';
  // Nearest rank over 1..100: p50 = 50, p90 = 90, p95 = 95, p99 = 99.
  assert.match(frame, /p50\s+50\.0ms/);
  assert.match(frame, /p90\s+90\.0ms/);
  assert.match(frame, /p95\s+95\.0ms/);
  assert.match(frame, /p99\s+99\.0ms/);
  assert.match(frame, /min\s+1\.00ms/);
  assert.match(frame, /avg\s+50\.5ms/);
  assert.match(frame, /max\s+100ms/);
  assert.match(frame, /srv-a:50051/);
  assert.match(frame, /attempt 100\/100/);
  assert.match(frame, /100 responses/);
  // Phases: medians of the synthetic split (20% connect, 70% ttfb).
  assert.match(frame, /connect\s+10\.0ms/);
  assert.match(frame, /ttfb\s+35\.0ms/);
  assert.match(frame, /dns\s+–/);
  // The histogram accounts for every response.
  const counts = [...frame.matchAll(/[│|][█▏▎▍▌▋▊▉]+ (\d+)/g)].map((m) => Number(m[1]));
  assert.equal(
    counts.reduce((a, b) => a + b, 0),
    100,
  );
});

test('error panel: statuses, reasons with counts, the last error message', () => {
  const stats = new RunStats();
  stats.add(okAttempt(1, 5));
  stats.add(okAttempt(2, 6, 503));
  stats.add(okAttempt(3, 7, 503));
  stats.add(failedAttempt(4, 1, 'CONNECT_REFUSED', 'connect ECONNREFUSED 127.0.0.1:9'));
  const { lastFrame } = render(
    <Outcomes
      summary={stats.summary()}
      lastError={{ seq: 4, reason: 'CONNECT_REFUSED', message: 'connect ECONNREFUSED 127.0.0.1:9' }}
      width={80}
    />,
  );
  const frame = lastFrame() ?? '';
  assert.match(frame, /status 200 ×1\s+503 ×2/);
  assert.match(frame, /errors BAD_STATUS ×2\s+CONNECT_REFUSED ×1/);
  assert.match(frame, /last error #4 CONNECT_REFUSED: connect ECONNREFUSED 127\.0\.0\.1:9/);
});

test('panel: failures, deadline and RPC errors are said plainly', async () => {
  const events: WatchEvent[] = [
    { kind: 'attempt', attempt: okAttempt(1, 4) },
    { kind: 'attempt', attempt: failedAttempt(2, 1, 'TIMEOUT', 'no response within 5000 ms') },
  ];
  const err = Object.assign(new Error('x'), { code: 4, codeName: 'DEADLINE_EXCEEDED', details: 'Deadline exceeded' });
  const feed = new StreamFeed(
    {
      label: 'embedded',
      open: () =>
        (async function* () {
          yield* events;
          throw err;
        })(),
    },
    { repetitions: 10, deadlineMs: 1000 },
  );
  await settled(feed);
  const layout = panelLayout(100, 30);
  const { lastFrame } = render(
    <RegionPanel snapshot={feed.snapshot({ histogramRows: 5, recent: 20 })} layout={layout} />,
  );
  const frame = lastFrame() ?? '';
  assert.match(frame, /deadline reached: partial results/);
  assert.match(frame, /attempt 2\/10/);
  assert.match(frame, /errors TIMEOUT ×1/);
  assert.match(frame, /last error #2 TIMEOUT: no response within 5000 ms/);
  assert.match(frame, /recent \S*×/, 'the failed attempt shows in the strip');
});

for (const [cols, rows] of [
  [60, 24],
  [60, 40],
  [80, 24],
  [100, 18],
] as const) {
  test(`narrow/short terminal ${cols}x${rows}: nothing wider than the screen, key numbers still shown`, async () => {
    const events: WatchEvent[] = Array.from({ length: 300 }, (_, i) => ({
      kind: 'attempt',
      attempt: i % 50 === 49 ? failedAttempt(i + 1, 2) : okAttempt(i + 1, 1 + ((i * 7919) % 997) / 10),
    }));
    const feed = new StreamFeed(scriptedSource('a-rather-long-server-name.example.com:50051', events), {
      repetitions: 1000,
    });
    await settled(feed);
    const layout = panelLayout(cols, rows - 3);
    const snap = feed.snapshot({ histogramRows: layout.histogramRows, recent: layout.statsWidth });
    const { lastFrame } = render(<RegionPanel snapshot={snap} layout={layout} />);
    const lines = frameLines(lastFrame());
    for (const l of lines) assert.ok([...l].length <= cols, `line wider than ${cols}: ${JSON.stringify(l)}`);
    assert.ok(lines.length <= rows - 3, `${lines.length} lines fit ${rows - 3} rows`);
    const frame = lines.join('\n');
    assert.match(frame, /p50/);
    assert.match(frame, /p99/);
    assert.match(frame, /max/);
    assert.match(frame, /status 200/);
    assert.match(frame, /CONNECT_REFUSED/);
    assert.ok(barEighths(frame) > 0, 'histogram bars drawn');
  });
}

test('app: keys p (pause), ? (help), r (reset), q (quit -> cancel), then exits with the final frame', async () => {
  const feed = new StreamFeed(
    endlessSource('embedded', 2, (s) => 1 + (s % 7)),
    { repetitions: 0 },
  );
  let quits = 0;
  const { lastFrame, stdin, frames } = render(
    <App
      target="http://127.0.0.1:1/ok"
      feeds={[feed]}
      refreshMs={20}
      onQuit={() => {
        quits++;
        feed.cancel();
      }}
      size={{ columns: 100, rows: 30 }}
    />,
  );
  const waitFor = async (re: RegExp, what: string): Promise<string> => {
    let f = '';
    const seen = await poll(
      () => {
        f = lastFrame() ?? '';
        return re.test(f);
      },
      5_000,
      10,
    );
    if (seen) return f;
    assert.fail(`never saw ${what}; last frame:\n${lastFrame()}`);
  };
  await waitFor(/\(\d{2,} responses\)/, 'responses counted');
  assert.match(lastFrame() ?? '', /q quit/);

  stdin.write('p');
  await waitFor(/PAUSED/, 'the paused marker');
  const framesWhilePaused = frames.length;
  await sleep(100);
  assert.ok(frames.length - framesWhilePaused <= 2, 'paused: the panel stops redrawing');
  stdin.write('p');
  await waitFor(/^(?![\s\S]*PAUSED)/, 'resumed');

  stdin.write('?');
  await waitFor(/show \/ hide this help/, 'the help');
  stdin.write('?');
  await waitFor(/latency histogram/, 'the panel again');

  const before = feed.received;
  stdin.write('r');
  const afterReset = await waitFor(/responses \d/, 'stats after reset');
  const shown = Number(/responses (\d+)/.exec(afterReset)?.[1]);
  assert.ok(shown < feed.received || feed.received - before < 5, 'reset cleared the stats shown');

  stdin.write('q');
  await waitFor(/finished/, 'the final frame');
  assert.equal(quits, 1);
  assert.equal(feed.status, 'cancelled');
});

test('app: one panel per server, the whole screen fits the terminal', async () => {
  const mk = (label: string, base: number): StreamFeed =>
    new StreamFeed(
      scriptedSource(
        label,
        Array.from(
          { length: 50 },
          (_, i) => ({ kind: 'attempt', attempt: okAttempt(i + 1, base + (i % 10)) }) as const,
        ),
      ),
      { repetitions: 50, deadlineMs: 30_000 },
    );
  for (const [columns, rows] of [
    [100, 40],
    [60, 24],
  ] as const) {
    const feeds = [mk('eu-west:50051', 20), mk('us-east:50051', 90)];
    const { lastFrame } = render(
      <App
        target="https://example.test/"
        feeds={feeds}
        refreshMs={10}
        onQuit={() => undefined}
        size={{ columns, rows }}
      />,
    );
    await Promise.all(feeds.map((f) => f.start()));
    await poll(() => /finished/.test(lastFrame() ?? ''), 5_000, 10);
    const lines = frameLines(lastFrame());
    assert.ok(lines.length <= rows - 1, `${columns}x${rows}: ${lines.length} lines`);
    for (const l of lines) assert.ok([...l].length <= columns, `wider than ${columns}: ${JSON.stringify(l)}`);
    const frame = lines.join('\n');
    assert.match(frame, /servers eu-west:50051,/);
    assert.match(frame, /attempt 100\/100/, 'header totals over both servers');
    assert.equal((frame.match(/✓ done\s+attempt 50\/50/g) ?? []).length, 2, 'one panel per server');
    assert.match(frame, /p50\s+24\.0ms/);
    assert.match(frame, /p50\s+94\.0ms/);
    cleanup();
  }
});

/** "164 attempts · 44/s · elapsed 0:07" in a frame: the header's first, then each panel's. */
function progressReadings(frame: string): string[] {
  return [...frame.matchAll(/\d[\d,]* attempts · [\d.,]+\/s · elapsed \d+:\d\d/g)].map((m) => m[0]);
}

test('app: the header and the panel show the same numbers in every frame (one snapshot per tick)', async () => {
  let now = 1000;
  const feed = new StreamFeed(idleSource('embedded'), { repetitions: 0, now: () => now });
  let seq = 0;
  const feedSome = (n: number): void => {
    for (let i = 0; i < n; i++) feed.fold({ kind: 'attempt', attempt: okAttempt(++seq, 2 + (seq % 5)) });
  };
  const app = (
    <App
      target="http://127.0.0.1:1/ok"
      feeds={[feed]}
      refreshMs={20}
      onQuit={() => feed.cancel()}
      size={{ columns: 100, rows: 30 }}
    />
  );
  const { lastFrame, frames, rerender, stdin } = render(app);
  for (let step = 0; step < 12; step++) {
    feedSome(7 + step);
    now += 250;
    // A render between ticks (a key, a resize) must not show newer numbers in the header only.
    if (step % 3 === 0) rerender(app);
    await sleep(40);
  }
  const live = progressReadings(lastFrame() ?? '');
  assert.equal(live.length, 2, `header and panel readings in:\n${lastFrame()}`);
  assert.match(live[0]!, /^\d{3} attempts · [1-9]/, 'the run has counted attempts and a rate');

  // Paused: both freeze on the same numbers while attempts keep arriving.
  stdin.write('p');
  for (let i = 0; i < 100 && !/PAUSED/.test(lastFrame() ?? ''); i++) await sleep(10);
  const frozen = progressReadings(lastFrame() ?? '');
  feedSome(50);
  now += 1000;
  rerender(app);
  await sleep(60);
  assert.deepEqual(progressReadings(lastFrame() ?? ''), frozen, 'paused: nothing moves');

  feed.cancel();
  for (let i = 0; i < 100 && !/finished/.test(lastFrame() ?? ''); i++) await sleep(10);
  assert.match(lastFrame() ?? '', /finished/);
  let compared = 0;
  for (const f of frames) {
    const r = progressReadings(f);
    if (r.length < 2) continue; // the help screen or a partial frame
    assert.equal(r[1], r[0], `panel disagrees with header in:\n${f}`);
    compared++;
  }
  assert.ok(compared > 5, `${compared} frames compared`);
  // The final frame counts the attempts folded while paused.
  assert.match(progressReadings(lastFrame() ?? '')[0] ?? '', new RegExp(`^${seq} attempts`));
});

test('histogram: the failed part of a bar is marked without colour (▒, x on a dumb terminal)', () => {
  const histogram = {
    buckets: [
      { upperBoundMs: 5, count: 40, failed: 10 },
      { upperBoundMs: 10, count: 20 },
    ],
    overflow: 0,
  };
  const { lastFrame, rerender } = render(
    <ThemeProvider value={{ color: false, unicode: true }}>
      <Histogram histogram={histogram} width={60} rows={5} />
    </ThemeProvider>,
  );
  let lines = frameLines(lastFrame());
  const marks = (l: string, ch: string): number => [...l].filter((c) => c === ch).length;
  const full = barEighths(lines[0]!) / 8 + marks(lines[0]!, '▒');
  assert.ok(Math.abs(marks(lines[0]!, '▒') - full / 4) <= 1, `a quarter of the bar marked: ${lines[0]}`);
  assert.equal(marks(lines[1]!, '▒'), 0, 'no failures, no mark');
  assert.match(lines[0]!, / 40$/);
  rerender(
    <ThemeProvider value={{ color: false, unicode: false }}>
      <Histogram histogram={histogram} width={60} rows={5} />
    </ThemeProvider>,
  );
  lines = frameLines(lastFrame());
  assert.match(lines[0]!, /\|#+x+ 40$/);
  assert.match(lines[1]!, /\|#+ 20$/);
});

test('panel: outliers in one overflow row with the max, failed legend, since reset, rates', async () => {
  let now = 0;
  const feed = new StreamFeed(idleSource('embedded'), { repetitions: 0, now: () => now });
  let seq = 0;
  for (let s = 0; s < 8; s++) {
    for (let i = 0; i < 20; i++) {
      seq++;
      const a =
        seq % 41 === 0 ? okAttempt(seq, 400) : seq % 5 === 0 ? okAttempt(seq, 3, 503) : okAttempt(seq, 2 + (seq % 9));
      feed.fold({ kind: 'attempt', attempt: a });
    }
    now += 1000;
  }
  const layout = panelLayout(100, 34);
  const snap = (): ReturnType<StreamFeed['snapshot']> =>
    feed.snapshot({ histogramRows: layout.histogramRows, recent: layout.statsWidth });
  const { lastFrame, rerender } = render(
    <ThemeProvider value={{ color: false, unicode: true }}>
      <RegionPanel snapshot={snap()} layout={layout} />
    </ThemeProvider>,
  );
  let frame = lastFrame() ?? '';
  assert.match(frame, /max\s+400ms/, 'the max stays in the stats');
  assert.match(frame, /│ >1\d\.\dms │[█▏▎▍▌▋▊▉]+ 3 · max 400ms/, `overflow row:\n${frame}`);
  assert.match(frame, /latency histogram \(160 responses\) ▒ failed/);
  assert.match(frame, /▒+ \d+/, 'a failed part in the bars');
  assert.match(frame, /attempts\/s [▁▂▃▄▅▆▇█]{8} 20 peak 20 · 8s/);
  assert.match(frame, /errors\/s +[▁▂▃▄▅▆▇█]{8} 4/);
  assert.doesNotMatch(frame, /since reset/);
  feed.reset();
  now += 12_000;
  feed.fold({ kind: 'attempt', attempt: okAttempt(++seq, 5) });
  rerender(
    <ThemeProvider value={{ color: false, unicode: true }}>
      <RegionPanel snapshot={snap()} layout={layout} />
    </ThemeProvider>,
  );
  frame = lastFrame() ?? '';
  assert.match(frame, /since reset 0:12/);
  assert.match(frame, /1 response\b/);
});

for (const [columns, rows, servers] of [
  [60, 20, 2],
  [60, 24, 1],
  [60, 24, 2],
  [80, 24, 1],
  [80, 24, 2],
  [40, 12, 1],
] as const) {
  test(`small terminal ${columns}x${rows}, ${servers} server(s): every percentile shown, nothing overflows`, async () => {
    // Layout: the sections and the histogram fit the panel's body.
    const l = panelLayout(columns, panelHeight(rows, servers));
    assert.ok(sectionRows(l, l.inner) + l.histogramRows <= l.height - 3, JSON.stringify(l));
    const feeds = Array.from(
      { length: servers },
      (_, k) =>
        new StreamFeed(
          scriptedSource(
            `srv-${k}:50051`,
            Array.from(
              { length: 120 },
              (_, i) =>
                ({
                  kind: 'attempt',
                  attempt:
                    i % 20 === 19
                      ? failedAttempt(i + 1, 2)
                      : okAttempt(i + 1, 1 + ((i * 7919) % 97) / 10, i % 9 === 0 ? 503 : 200),
                }) as const,
            ),
          ),
          { repetitions: 120 },
        ),
    );
    const { lastFrame } = render(
      <App
        target="http://127.0.0.1:1/ok"
        feeds={feeds}
        refreshMs={10}
        onQuit={() => undefined}
        size={{ columns, rows }}
      />,
    );
    await Promise.all(feeds.map((f) => f.start()));
    await poll(() => /finished/.test(lastFrame() ?? ''), 5_000, 10);
    const lines = frameLines(lastFrame());
    assert.ok(lines.length <= rows - 1, `${lines.length} lines on ${rows} rows`);
    for (const line of lines) assert.ok([...line].length <= columns, `wider than ${columns}: ${JSON.stringify(line)}`);
    const frame = lines.join('\n');
    for (const p of ['p50', 'p90', 'p95', 'p99', 'min', 'max']) {
      assert.equal(
        (frame.match(new RegExp(`${p}\\s+\\d[\\d.]*(ms|µs|s)`, 'g')) ?? []).length,
        servers,
        `${p} in every panel:\n${frame}`,
      );
    }
    assert.match(frame, /failed \d/);
  });
}

// The comparison view (several regions): one axis, a verdict, columns or rows, a merged panel.

/** Regions driven by fold(), a merged feed they tee into, and the App on a fixed-size screen. */
function compareApp(columns: number, rows: number, labels: readonly string[]) {
  const merged = new StreamFeed(idleSource('all regions'), { repetitions: 0 });
  const feeds = labels.map((l) => new StreamFeed(idleSource(l), { repetitions: 0, tee: merged }));
  const view = render(
    <App
      target="https://example.test/"
      feeds={feeds}
      merged={merged}
      refreshMs={10}
      onQuit={() => undefined}
      size={{ columns, rows }}
    />,
  );
  const stop = async (): Promise<void> => {
    for (const f of feeds) f.cancel();
    await Promise.all(feeds.map((f) => f.start()));
  };
  return { feeds, merged, view, stop };
}

function foldOk(feed: StreamFeed, latencies: readonly number[]): void {
  for (const [i, ms] of latencies.entries()) feed.fold({ kind: 'attempt', attempt: okAttempt(i + 1, ms) });
}

/** Each panel's histogram row labels, in panel order (stacked panels: one per region, then the merged one). */
function panelLabels(frame: string): string[][] {
  const panels: string[][] = [];
  for (const line of frame.split('\n')) {
    if (/^╭/.test(line)) panels.push([]);
    const m = /^│\s+(>?[\d.]+(?:µs|ms|s)) │/.exec(line);
    if (m) panels.at(-1)!.push(m[1]!);
  }
  return panels;
}

test('compare: regions with different latencies share one axis (the same row labels)', async () => {
  const { feeds, view, stop } = compareApp(80, 70, ['eu', 'us']);
  foldOk(
    feeds[0]!,
    Array.from({ length: 60 }, (_, i) => 2 + (i % 10) * 0.3),
  );
  foldOk(
    feeds[1]!,
    Array.from({ length: 60 }, (_, i) => 40 + (i % 10) * 6),
  );
  await poll(() => panelLabels(view.lastFrame() ?? '').every((p) => p.length > 0), 5_000, 10);
  const panels = panelLabels(view.lastFrame() ?? '');
  assert.equal(panels.length, 3, 'eu, us and all regions');
  assert.ok(panels[0]!.length >= 3, `rows: ${panels[0]}`);
  assert.deepEqual(panels[1], panels[0], 'us has the same bucket edges as eu');
  assert.deepEqual(panels[2], panels[0], 'and the merged panel too');
  // The axis spans both: eu's fastest to us's slowest.
  assert.ok(Number.parseFloat(panels[0]![0]!) < 40, `first bound ${panels[0]![0]} below us's fastest`);
  assert.ok(Number.parseFloat(panels[0]!.at(-1)!.replace('>', '')) >= 90, `top ${panels[0]!.at(-1)}`);
  await stop();
});

test('compare: the verdict says up everywhere, or where it is down and why', async () => {
  const { feeds, view, stop } = compareApp(80, 40, ['eu', 'us']);
  await poll(() => /up in 0\/2 regions \(2 connecting\)|up in 2\/2/.test(view.lastFrame() ?? ''), 2_000, 10);
  foldOk(feeds[0]!, [3, 4]);
  foldOk(feeds[1]!, [30, 40]);
  await poll(() => /✓ up in 2\/2 regions/.test(view.lastFrame() ?? ''), 2_000, 10);
  for (let i = 0; i < 5; i++)
    feeds[0]!.fold({ kind: 'attempt', attempt: failedAttempt(10 + i, 1000, 'CONNECT_TIMEOUT') });
  await poll(() => /DOWN in 1\/2 \(eu: CONNECT_TIMEOUT\)/.test(view.lastFrame() ?? ''), 2_000, 10);
  assert.match(view.lastFrame() ?? '', /✗ DOWN in 1\/2 \(eu: CONNECT_TIMEOUT\)/);
  feeds[0]!.fold({ kind: 'attempt', attempt: okAttempt(20, 3) });
  await poll(() => /up in 2\/2 regions/.test(view.lastFrame() ?? ''), 2_000, 10);
  await stop();
});

test('compare: verdict() counts a failed stream as down with its status name', () => {
  const base = (label: string, extra: Partial<FeedSnapshot>): FeedSnapshot =>
    ({ label, status: 'running', received: 3, failStreak: 0, ...extra }) as FeedSnapshot;
  const v = verdict([
    base('eu', { status: 'reconnecting', failure: { codeName: 'UNAVAILABLE', message: 'x', cause: null } }),
    base('us', {}),
    base('ap', { failStreak: DOWN_STREAK, streakReason: 'TIMEOUT' }),
  ]);
  assert.equal(v.text, 'DOWN in 2/3 (eu: UNAVAILABLE, ap: TIMEOUT)');
  assert.equal(verdict([base('eu', {}), base('us', {}), base('ap', {})]).text, 'up in 3/3 regions');
  assert.equal(verdict([base('eu', { failStreak: DOWN_STREAK - 1, streakReason: 'RESET' })]).text, 'up in 1/1 regions');
});

test('compare: columns when wide, rows when narrow; nothing wider or taller than the screen', async () => {
  for (const [columns, rows, side] of [
    [130, 40, true],
    [100, 40, false],
    [60, 24, false],
  ] as const) {
    const { feeds, view, stop } = compareApp(columns, rows, ['eu', 'us']);
    foldOk(feeds[0]!, [3, 4, 5]);
    foldOk(feeds[1]!, [30, 40, 50]);
    await poll(
      () => /all regions/.test(view.lastFrame() ?? '') && /up in 2\/2/.test(view.lastFrame() ?? ''),
      2_000,
      10,
    );
    const lines = frameLines(view.lastFrame());
    assert.ok(lines.length <= rows - 1, `${columns}x${rows}: ${lines.length} lines`);
    for (const l of lines) assert.ok([...l].length <= columns, `wider than ${columns}: ${JSON.stringify(l)}`);
    const titles = lines.filter((l) => /\b(eu|us|all regions)\s+[●✓]/.test(l));
    if (side) {
      assert.equal(titles.length, 1, `one title row holds all three panels:\n${lines.join('\n')}`);
      assert.match(titles[0]!, /eu .*│.*us .*│.*all regions/);
    } else assert.equal(titles.length, 3, `three stacked panels at ${columns}x${rows}:\n${lines.join('\n')}`);
    await stop();
    cleanup();
  }
});

test('compare: the merged panel counts every region’s attempts', async () => {
  const { feeds, merged, view, stop } = compareApp(80, 70, ['eu', 'us', 'ap']);
  foldOk(feeds[0]!, [3, 4, 5, 6]);
  foldOk(feeds[1]!, [30, 40]);
  feeds[2]!.fold({ kind: 'attempt', attempt: okAttempt(1, 70, 503) });
  feeds[2]!.fold({ kind: 'attempt', attempt: failedAttempt(2, 5) });
  const s = merged.snapshot({ histogramRows: 5, recent: 5 }).summary;
  assert.equal(s.attempts, 8);
  assert.equal(s.responses, 7);
  assert.equal(s.failures, 2);
  const want = new RunStats();
  for (const ms of [3, 4, 5, 6, 30, 40]) want.add(okAttempt(1, ms));
  want.add(okAttempt(1, 70, 503));
  want.add(failedAttempt(2, 5));
  assert.equal(s.p50Ms, want.summary().p50Ms, 'exact percentiles of the union');
  await poll(() => /responses 7 · ok 6 · failed 2/.test(view.lastFrame() ?? ''), 2_000, 10);
  const frame = view.lastFrame() ?? '';
  const mergedPanel = frame.slice(frame.indexOf('all regions'));
  assert.match(mergedPanel, /8 attempts/);
  assert.match(mergedPanel, /responses 7 · ok 6 · failed 2/);
  await stop();
});
