/**
 * `@aws-sdk/client-s3`, loaded on first use: a server on local storage never pays for loading
 * the SDK (it is large), and a process where it cannot load fails on the first S3 call with a
 * StorageError, not at import time.
 */
export type S3Sdk = typeof import('@aws-sdk/client-s3');

let loading: Promise<S3Sdk> | undefined;

export function loadS3Sdk(): Promise<S3Sdk> {
  loading ??= import('@aws-sdk/client-s3').catch((error: unknown) => {
    loading = undefined;
    throw error;
  });
  return loading;
}
