// Colour policy. Meaning never rests on colour alone (glyphs and labels carry
// it), so with NO_COLOR (https://no-color.org) or a dumb terminal the screen
// reads the same in monochrome.
import { createContext, useContext } from 'react';

export interface Theme {
  /** Emit colours at all. */
  readonly color: boolean;
  /** Use block and box-drawing characters (else plain ASCII). */
  readonly unicode: boolean;
}

export const DEFAULT_THEME: Theme = { color: true, unicode: true };

/** Theme from the environment: NO_COLOR (any non-empty value) and TERM=dumb turn colour off. */
export function themeFromEnv(env: NodeJS.ProcessEnv = process.env): Theme {
  const noColor = (env['NO_COLOR'] ?? '') !== '' || env['TERM'] === 'dumb';
  return { color: !noColor, unicode: env['TERM'] !== 'dumb' };
}

const ThemeContext = createContext<Theme>(DEFAULT_THEME);
export const ThemeProvider = ThemeContext.Provider;

export function useTheme(): Theme {
  return useContext(ThemeContext);
}

export type Tone = 'accent' | 'good' | 'warn' | 'bad' | 'info' | 'muted' | 'bar';

const TONES: Record<Tone, string> = {
  accent: 'cyan',
  good: 'green',
  warn: 'yellow',
  bad: 'red',
  info: 'blue',
  muted: 'gray',
  bar: 'cyan',
};

/** Ink colour name for a tone, or undefined when colour is off. */
export function tone(theme: Theme, t: Tone): string | undefined {
  return theme.color ? TONES[t] : undefined;
}

/** Tone of an HTTP status class. */
export function statusTone(status: number): Tone {
  if (status < 300) return 'good';
  if (status < 400) return 'info';
  if (status < 500) return 'warn';
  return 'bad';
}
