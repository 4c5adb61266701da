/** The Redis URL without credentials (logs, messages). No dependencies: the CLI imports it eagerly. */
export function redisLabel(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname === '/' ? '' : u.pathname}`;
  } catch {
    return '(invalid redis url)';
  }
}
