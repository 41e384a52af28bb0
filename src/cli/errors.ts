/** A command used wrongly (a bad argument or flag): exit status 2, with a message that says what to fix. */
export class UsageError extends Error {
  readonly exitCode = 2;
}

/** A command that could not do its work (missing domain or user, unreadable file): exit status 1. */
export class CommandError extends Error {
  readonly exitCode = 1;
}
