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

interface AbortControllerLike {
  readonly signal: AbortSignalLike;
  abort(reason?: unknown): void;
}

/**
 * A controller whose signal fires when `parent` does or when `abort()` is called: lets a
 * pipeline cancel its own work in flight (after a failure) without touching the caller's signal.
 * Undefined where the runtime has no AbortController.
 */
export function linkedAbortController(parent: AbortSignalLike | undefined): { controller: AbortControllerLike; unlink(): void } | undefined {
  const Controller = (globalThis as { AbortController?: new () => AbortControllerLike }).AbortController;
  if (!Controller) return undefined;
  const controller = new Controller();
  if (!parent) return { controller, unlink: () => undefined };
  const forward = () => controller.abort(parent.reason);
  if (parent.aborted) forward();
  else parent.addEventListener('abort', forward, { once: true });
  return { controller, unlink: () => parent.removeEventListener('abort', forward) };
}
