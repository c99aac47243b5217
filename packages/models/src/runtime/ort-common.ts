/**
 * What the onnxruntime-node and onnxruntime-web backends share: option checks and the session
 * wrapper. Typed structurally so this file imports neither runtime (it serves both).
 */
import {
  BackendError,
  InvalidOptionError,
  throwIfAborted,
  type Device,
  type GraphOptimizationLevel,
  type InferenceSession,
  type RunOptions,
  type SessionOptions,
  type Tensor,
} from '@superres/core';

export const DEVICES: readonly Device[] = ['cpu', 'cuda', 'webgpu', 'auto'];
export const OPTIMIZATION_LEVELS: readonly GraphOptimizationLevel[] = ['disabled', 'basic', 'extended', 'all'];
/** ORT severity 3 = error: keeps ORT's own warnings off the host's console. */
export const LOG_SEVERITY_ERROR = 3;

/** Checks graphOptimization and device; each backend checks its own thread options. */
export function validateCommonOptions(options: SessionOptions): void {
  const { graphOptimization, device } = options;
  if (graphOptimization !== undefined && !OPTIMIZATION_LEVELS.includes(graphOptimization)) {
    throw new InvalidOptionError(
      `Option graphOptimization must be one of ${OPTIMIZATION_LEVELS.join(', ')}, got ${JSON.stringify(graphOptimization)}`,
      { details: { option: 'graphOptimization' } },
    );
  }
  if (device !== undefined && !DEVICES.includes(device)) {
    throw new InvalidOptionError(`Option device must be one of ${DEVICES.join(', ')}, got ${JSON.stringify(device)}`, {
      details: { option: 'device' },
    });
  }
}

export function validateThreads(option: string, value: number | undefined): void {
  if (value !== undefined && (!Number.isInteger(value) || value < 0)) {
    throw new InvalidOptionError(
      `Option ${option} must be a non-negative integer (0 = runtime default), got ${JSON.stringify(value)}`,
      { details: { option } },
    );
  }
}

/** The session options that were actually given, so per-session ones override defaults only where set. */
export function definedSessionOptions(options: SessionOptions): SessionOptions {
  const { threads, graphOptimization, device } = options;
  return Object.fromEntries(
    Object.entries({ threads, graphOptimization, device }).filter(([, v]) => v !== undefined),
  ) as SessionOptions;
}

export function messageOf(error: unknown): string {
  // ORT messages can carry ANSI colour codes from its logger.
  const text = error instanceof Error ? error.message : String(error);
  // eslint-disable-next-line no-control-regex
  return text.replace(/\u001b\[[0-9;]*m/g, '').trim();
}

/** The part of an ORT InferenceSession (node or web) the wrapper uses. */
export interface OrtSessionLike {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, never>): Promise<Record<string, { readonly data: unknown; readonly dims: readonly number[]; readonly type?: string }>>;
  release(): Promise<void>;
}

export interface WrapOptions {
  /** "ONNX Runtime" or "ONNX Runtime Web", for messages. */
  runtime: string;
  /** Builds the runtime's float32 tensor. */
  tensor(data: Float32Array, dims: number[]): unknown;
  /** Copy inputs first (a proxy worker detaches the buffers it is given). */
  copyInputs?: boolean;
}

/** A core InferenceSession over an ORT session: first input in, first output out, typed errors. */
export function wrapOrtSession(session: OrtSessionLike, options: WrapOptions): InferenceSession {
  const inputName = session.inputNames[0];
  const outputName = session.outputNames[0];
  let released = false;
  return {
    async run(input: Tensor, runOptions: RunOptions = {}): Promise<Tensor> {
      throwIfAborted(runOptions.signal);
      if (released) throw new BackendError('The inference session has been released');
      if (inputName === undefined || outputName === undefined) {
        throw new BackendError('The ONNX graph has no input or no output');
      }
      let result: Awaited<ReturnType<OrtSessionLike['run']>>;
      try {
        const data = options.copyInputs && !runOptions.transfer ? input.data.slice() : input.data;
        result = await session.run({ [inputName]: options.tensor(data, [...input.dims]) as never });
      } catch (error) {
        throw new BackendError(`${options.runtime} inference failed: ${messageOf(error)}`, { cause: error });
      }
      throwIfAborted(runOptions.signal);
      const output = result[outputName];
      if (!output || !(output.data instanceof Float32Array)) {
        throw new BackendError(`The graph's output "${outputName}" is not a float32 tensor (got ${output?.type ?? 'nothing'})`);
      }
      return { data: output.data, dims: output.dims };
    },
    async runNamed(inputs: Readonly<Record<string, Tensor>>, runOptions: RunOptions = {}): Promise<Record<string, Tensor>> {
      throwIfAborted(runOptions.signal);
      if (released) throw new BackendError('The inference session has been released');
      const feeds: Record<string, never> = {};
      for (const [name, input] of Object.entries(inputs)) {
        if (!session.inputNames.includes(name)) throw new BackendError(`The ONNX graph has no input "${name}" (it has ${session.inputNames.join(', ')})`);
        const data = options.copyInputs && !runOptions.transfer ? input.data.slice() : input.data;
        feeds[name] = options.tensor(data, [...input.dims]) as never;
      }
      let result: Awaited<ReturnType<OrtSessionLike['run']>>;
      try {
        result = await session.run(feeds);
      } catch (error) {
        throw new BackendError(`${options.runtime} inference failed: ${messageOf(error)}`, { cause: error });
      }
      throwIfAborted(runOptions.signal);
      return floatOutputs(result, session.outputNames);
    },
    async release(): Promise<void> {
      if (released) return;
      released = true;
      try {
        await session.release();
      } catch (error) {
        throw new BackendError(`Could not release the ${options.runtime} session: ${messageOf(error)}`, { cause: error });
      }
    },
  };
}

/** Every output by name, each checked to be float32. */
export function floatOutputs(
  result: Readonly<Record<string, { readonly data: unknown; readonly dims: readonly number[]; readonly type?: string }>>,
  names: readonly string[],
): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const name of names) {
    const output = result[name];
    if (!output || !(output.data instanceof Float32Array)) {
      throw new BackendError(`The graph's output "${name}" is not a float32 tensor (got ${output?.type ?? 'nothing'})`);
    }
    out[name] = { data: output.data, dims: output.dims };
  }
  return out;
}
