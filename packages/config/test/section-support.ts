import { expect } from 'vitest';
import { ConfigError, ConfigErrorCode, parseConfigText } from '@drkit/config';

const SOURCES = 'sources: [{ name: data, type: files, path: ./data }]\n';

/** Parses a config section below a minimal `sources:`, as /etc/drkit/drkit.config.yaml. */
export const parse = (yaml: string) => parseConfigText(`${SOURCES}${yaml}`, '/etc/drkit/drkit.config.yaml', {});

/** The lines of the CONFIG_INVALID error that the section causes. */
export function issues(yaml: string): string[] {
  try {
    parse(yaml);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).code).toBe(ConfigErrorCode.INVALID);
    return (error as ConfigError).message.split('\n');
  }
  throw new Error('expected a ConfigError');
}
