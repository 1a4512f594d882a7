// The one place where an argv list becomes a shell string. Everything sent to a remote
// shell goes through `toShell`; nothing is ever interpolated raw.

const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** Quotes one argument for a POSIX shell. */
export function quote(arg: string): string {
  if (arg.includes('\0')) throw new Error('an argument contains a NUL byte, which no shell can carry');
  if (arg !== '' && SAFE_WORD.test(arg)) return arg;
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

/** Turns an argv list into one shell command line. */
export function toShell(argv: readonly string[]): string {
  if (argv.length === 0) throw new Error('empty command');
  return argv.map(quote).join(' ');
}

/** `cd <dir> && <argv>` with both parts quoted. */
export function inDirectory(dir: string, argv: readonly string[]): string {
  return `cd ${quote(dir)} && ${toShell(argv)}`;
}
