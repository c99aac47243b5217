/**
 * Cooperative time slicing: long loops on the caller's thread (stitching a large tile, resampling
 * rows) give the event loop a turn every few milliseconds, so a server keeps answering and a page
 * keeps painting while an image is assembled. Core has no Node or DOM typings: the host's
 * scheduling functions are looked up on globalThis.
 */
interface Host {
  setImmediate?: (callback: () => void) => unknown;
  setTimeout?: (callback: () => void, ms: number) => unknown;
  MessageChannel?: new () => { port1: { onmessage: (() => void) | null }; port2: { postMessage(value: unknown): void } };
  performance?: { now(): number };
}

const host = globalThis as unknown as Host;

/** Milliseconds from a monotonic clock where there is one. */
export function now(): number {
  return host.performance?.now() ?? Date.now();
}

/** Resolves after pending I/O and timers had their turn (setImmediate, else a message, else a timer). */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => {
    if (host.setImmediate) host.setImmediate(resolve);
    else if (host.MessageChannel) {
      // Browsers clamp nested timers to 4 ms; a message is delivered at once.
      const channel = new host.MessageChannel();
      channel.port1.onmessage = () => resolve();
      channel.port2.postMessage(undefined);
    } else if (host.setTimeout) host.setTimeout(resolve, 0);
    else resolve();
  });
}

/** Default slice: well under the 50 ms a busy loop may hold the thread. */
export const TIME_SLICE_MS = 5;

/** `await slicer.pause()` inside a loop yields once the current slice is used up. */
export interface Slicer {
  pause(): Promise<void> | undefined;
}

export function createSlicer(sliceMs = TIME_SLICE_MS): Slicer {
  let start = now();
  return {
    pause() {
      if (now() - start < sliceMs) return undefined;
      return yieldToEventLoop().then(() => {
        start = now();
      });
    },
  };
}
