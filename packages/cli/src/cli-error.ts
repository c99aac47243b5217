/**
 * Errors of the command line itself (paths, flags), with a stable code like the library's and the
 * exit code they end the process with: 2 for usage, 1 for work that could not be done.
 */
export class CliError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly exitCode: 1 | 2 = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}
