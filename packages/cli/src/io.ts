/** Where a command writes and what can stop it; the binary wires these to the process. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  signal?: AbortSignal;
}
