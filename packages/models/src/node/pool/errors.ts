/** Errors across the worker boundary: plain data one way, typed SuperresErrors the other. */
import { BackendError, isSuperresError, superresErrorFromCode, type SuperresError } from '@superres/core';
import { messageOf } from '../../runtime/ort-common.js';
import type { SerializedError } from './messages.js';

export function serializeError(error: unknown): SerializedError {
  if (isSuperresError(error)) {
    const cause = error.cause === undefined ? {} : { cause: { name: nameOf(error.cause), message: messageOf(error.cause) } };
    return { name: error.name, message: error.message, code: error.code, details: cloneable(error.details), ...cause };
  }
  return { name: nameOf(error), message: messageOf(error) };
}

function nameOf(error: unknown): string {
  return error instanceof Error ? error.name : 'Error';
}

/** A worker's error as the SuperresError it was; anything else becomes a BackendError. */
export function deserializeError(error: SerializedError): SuperresError {
  if (error.code !== undefined) {
    // The cause keeps its name and message (its stack stayed in the worker).
    const cause = error.cause && Object.assign(new Error(error.cause.message), { name: error.cause.name });
    return superresErrorFromCode(error.code, error.message, { details: error.details ?? {}, ...(cause ? { cause } : {}) });
  }
  return new BackendError(`Inference worker: ${error.message}`, { details: { name: error.name } });
}

/** Details are for machines; a value that cannot be cloned (a function, a class instance with one) is left out. */
function cloneable(details: Record<string, unknown>): Record<string, unknown> {
  try {
    return structuredClone(details);
  } catch {
    return Object.fromEntries(
      Object.entries(details).filter(([, value]) => {
        try {
          structuredClone(value);
          return true;
        } catch {
          return false;
        }
      }),
    );
  }
}
