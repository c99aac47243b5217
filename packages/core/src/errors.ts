import type { AbortSignalLike } from './signal.js';

/**
 * Every error superres throws on purpose is a SuperresError with a stable `code`, so callers
 * (the CLI, the server's HTTP mapping) branch on codes, never on message text.
 */
export const ErrorCode = {
  InvalidOption: 'E_INVALID_OPTION',
  BadImage: 'E_BAD_IMAGE',
  ImageTooLarge: 'E_IMAGE_TOO_LARGE',
  BadCheckpoint: 'E_BAD_CHECKPOINT',
  UnsafeCheckpoint: 'E_UNSAFE_CHECKPOINT',
  UnsupportedArchitecture: 'E_UNSUPPORTED_ARCH',
  ModelNotFound: 'E_MODEL_NOT_FOUND',
  DuplicateModel: 'E_DUPLICATE_MODEL',
  Checksum: 'E_CHECKSUM',
  Download: 'E_DOWNLOAD',
  UrlRefused: 'E_URL_REFUSED',
  Storage: 'E_STORAGE',
  Unavailable: 'E_UNAVAILABLE',
  Backend: 'E_BACKEND',
  Aborted: 'E_ABORTED',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface SuperresErrorOptions {
  cause?: unknown;
  /** Machine-readable details (the option name, the offending global, ...). */
  details?: Record<string, unknown>;
}

/**
 * Every class sets its `name` from a string literal, never from `new.target.name` or
 * `constructor.name`: minifiers rename classes, and a bundled BackendError would call itself "Y".
 * A subclass of your own sets its own name the same way (else it reports its parent's).
 */
export class SuperresError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: SuperresErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'SuperresError';
    this.code = code;
    this.details = options.details ?? {};
  }
}

/** An option failed validation: the message names the option, what was expected and what came. */
export class InvalidOptionError extends SuperresError {
  constructor(message: string, options?: SuperresErrorOptions) {
    super(ErrorCode.InvalidOption, message, options);
    this.name = 'InvalidOptionError';
  }
}

/** Pixels that cannot be decoded or do not describe a valid image. */
export class BadImageError extends SuperresError {
  constructor(message: string, options?: SuperresErrorOptions) {
    super(ErrorCode.BadImage, message, options);
    this.name = 'BadImageError';
  }
}

/** An image over a configured pixel or dimension limit. */
export class ImageTooLargeError extends SuperresError {
  constructor(message: string, options?: SuperresErrorOptions) {
    super(ErrorCode.ImageTooLarge, message, options);
    this.name = 'ImageTooLargeError';
  }
}

/** A checkpoint that is truncated, malformed, or lacks the tensors an architecture needs. */
export class BadCheckpointError extends SuperresError {
  constructor(message: string, options?: SuperresErrorOptions) {
    super(ErrorCode.BadCheckpoint, message, options);
    this.name = 'BadCheckpointError';
  }
}

/** A checkpoint whose pickle asks for a global or opcode outside the allowed state-dict subset. */
export class UnsafeCheckpointError extends SuperresError {
  constructor(message: string, options?: SuperresErrorOptions) {
    super(ErrorCode.UnsafeCheckpoint, message, options);
    this.name = 'UnsafeCheckpointError';
  }
}

/** A state dict whose layout matches no architecture we can build. */
export class UnsupportedArchitectureError extends SuperresError {
  constructor(message: string, options?: SuperresErrorOptions) {
    super(ErrorCode.UnsupportedArchitecture, message, options);
    this.name = 'UnsupportedArchitectureError';
  }
}

export class ModelNotFoundError extends SuperresError {
  constructor(message: string, options?: SuperresErrorOptions) {
    super(ErrorCode.ModelNotFound, message, options);
    this.name = 'ModelNotFoundError';
  }
}

export class DuplicateModelError extends SuperresError {
  constructor(message: string, options?: SuperresErrorOptions) {
    super(ErrorCode.DuplicateModel, message, options);
    this.name = 'DuplicateModelError';
  }
}

export class ChecksumError extends SuperresError {
  constructor(message: string, options?: SuperresErrorOptions) {
    super(ErrorCode.Checksum, message, options);
    this.name = 'ChecksumError';
  }
}

/** Fetching weights failed on the network or the server's side (status, timeout, cut body). */
export class DownloadError extends SuperresError {
  constructor(message: string, options?: SuperresErrorOptions) {
    super(ErrorCode.Download, message, options);
    this.name = 'DownloadError';
  }
}

/** A URL refused by policy: scheme, credentials, or a private/loopback/link-local address. */
export class UrlRefusedError extends SuperresError {
  constructor(message: string, options?: SuperresErrorOptions) {
    super(ErrorCode.UrlRefused, message, options);
    this.name = 'UrlRefusedError';
  }
}

/** Writing to or reading from output storage (disk, S3) failed. */
export class StorageError extends SuperresError {
  constructor(message: string, options?: SuperresErrorOptions) {
    super(ErrorCode.Storage, message, options);
    this.name = 'StorageError';
  }
}

/** A feature that this build or configuration does not offer (e.g. face enhancement without its models). */
export class UnavailableError extends SuperresError {
  constructor(message: string, options?: SuperresErrorOptions) {
    super(ErrorCode.Unavailable, message, options);
    this.name = 'UnavailableError';
  }
}

/** The inference runtime failed (could not load a graph, or a run failed). */
export class BackendError extends SuperresError {
  constructor(message: string, options?: SuperresErrorOptions) {
    super(ErrorCode.Backend, message, options);
    this.name = 'BackendError';
  }
}

export class AbortedError extends SuperresError {
  constructor(message = 'The operation was aborted', options?: SuperresErrorOptions) {
    super(ErrorCode.Aborted, message, options);
    this.name = 'AbortedError';
  }
}

/** Throws AbortedError (with the signal's reason as cause) when the signal has fired. */
export function throwIfAborted(signal: AbortSignalLike | undefined): void {
  if (signal?.aborted) throw new AbortedError(undefined, { cause: signal.reason });
}

export function isSuperresError(value: unknown): value is SuperresError {
  return value instanceof SuperresError;
}

const ERROR_CLASSES: Record<ErrorCode, new (message: string, options?: SuperresErrorOptions) => SuperresError> = {
  E_INVALID_OPTION: InvalidOptionError,
  E_BAD_IMAGE: BadImageError,
  E_IMAGE_TOO_LARGE: ImageTooLargeError,
  E_BAD_CHECKPOINT: BadCheckpointError,
  E_UNSAFE_CHECKPOINT: UnsafeCheckpointError,
  E_UNSUPPORTED_ARCH: UnsupportedArchitectureError,
  E_MODEL_NOT_FOUND: ModelNotFoundError,
  E_DUPLICATE_MODEL: DuplicateModelError,
  E_CHECKSUM: ChecksumError,
  E_DOWNLOAD: DownloadError,
  E_URL_REFUSED: UrlRefusedError,
  E_STORAGE: StorageError,
  E_UNAVAILABLE: UnavailableError,
  E_BACKEND: BackendError,
  E_ABORTED: AbortedError,
};

/**
 * The SuperresError subclass for `code` (errors that crossed a worker or process boundary as
 * plain data come back as the class they were thrown as); an unknown code gives a BackendError.
 */
export function superresErrorFromCode(code: string, message: string, options?: SuperresErrorOptions): SuperresError {
  const Class = (ERROR_CLASSES as Record<string, (typeof ERROR_CLASSES)[ErrorCode] | undefined>)[code] ?? BackendError;
  return new Class(message, options);
}
