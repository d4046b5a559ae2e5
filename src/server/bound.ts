// Caller-controlled text in metric labels and log lines, bounded. A 1 MB URL
// once took /metrics from 10 KB to 22.5 MB. Cut values keep a hash of the
// whole, so two long values sharing a prefix stay two distinct, stable labels.
import { createHash } from 'node:crypto';

/** Characters kept of a metric label value. */
export const MAX_LABEL_CHARS = 200;
/** Characters kept of a log field (the RPC line's endpoint, details). */
export const MAX_LOG_FIELD_CHARS = 512;

/** `value` if at most `max` characters, else its first `max`, '…', and 8 hex digits of its SHA-256. */
export function boundText(value: string, max: number): string {
  if (value.length <= max) return value;
  const hash = createHash('sha256').update(value).digest('hex').slice(0, 8);
  return `${value.slice(0, max)}…${hash}`;
}

export function boundLabel(value: string): string {
  return boundText(value, MAX_LABEL_CHARS);
}
