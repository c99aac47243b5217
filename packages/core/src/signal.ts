/**
 * The part of AbortSignal that core uses. Declared here because core compiles without DOM or
 * Node typings; a real AbortSignal from either runtime satisfies it.
 */
export interface AbortSignalLike {
  readonly aborted: boolean;
  readonly reason?: unknown;
  addEventListener(type: 'abort', listener: () => void, options?: { once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}
