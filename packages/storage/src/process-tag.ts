import { hostname } from 'node:os';

/** The process that writes a temp file or folder, as its name carries it. */
export interface ProcessOwner {
  host: string;
  pid: number;
}

/** `<pid>@<host>`, for a file name: a cleanup can then tell whether that process is gone. */
export function processTag(): string {
  return `${process.pid}@${encodeURIComponent(hostname()).slice(0, 100)}`;
}

/** The owner a name's `<pid>@<host>` part names (a host cut to fit the name never matches this host: safe). */
export function parseProcessTag(tag: string): ProcessOwner | undefined {
  const m = /^(\d+)@(.+)$/.exec(tag);
  if (!m) return undefined;
  let host = m[2]!;
  try {
    host = decodeURIComponent(host);
  } catch {
    // Not one of ours; compared as it is, it matches no host.
  }
  return { pid: Number(m[1]), host };
}
