// The comparison view's headline: up everywhere, or where it is down and why.
import { Text } from 'ink';
import type { FeedSnapshot } from '../feed.js';
import { verdict } from '../compare.js';
import { tone, useTheme } from '../theme.js';

export function VerdictLine({ regions }: { readonly regions: readonly FeedSnapshot[] }) {
  const theme = useTheme();
  const v = verdict(regions);
  const glyph = theme.unicode ? (v.down > 0 ? '✗ ' : '✓ ') : '';
  return (
    <Text wrap="truncate" bold color={tone(theme, v.down > 0 ? 'bad' : v.up === v.total ? 'good' : 'muted')}>
      {glyph}
      {v.text}
    </Text>
  );
}
