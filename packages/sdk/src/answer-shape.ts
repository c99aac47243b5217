/**
 * The client's own check of an answer when no schema validation is given: the fields the client
 * and its types rely on, with their types. No zod here, so a browser bundle of the client stays
 * a few kilobytes; `schemaValidation` (client-validation.ts) checks every field against the schemas.
 */
export type AnswerKind = 'job' | 'upload' | 'models' | 'success';

type Check = [field: string, type: 'string' | 'number' | 'id' | 'boolean' | 'array' | 'object'];

const JOB: Record<string, Check[]> = {
  success: [['id', 'id'], ['output', 'string'], ['generationTime', 'number']],
  processing: [['id', 'id'], ['eta', 'number'], ['fetch_result', 'string'], ['message', 'string']],
};

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

function typeOk(value: unknown, type: Check[1]): boolean {
  if (type === 'id') return (typeof value === 'string' && value !== '') || typeof value === 'number';
  if (type === 'array') return Array.isArray(value);
  if (type === 'object') return isObject(value);
  return typeof value === type;
}

function missing(answer: Record<string, unknown>, checks: Check[]): string | undefined {
  const bad = checks.find(([field, type]) => !typeOk(answer[field], type));
  return bad && `${bad[0]}: expected ${bad[1] === 'id' ? 'a string or a number' : `a ${bad[1]}`}, received ${JSON.stringify(answer[bad[0]]) ?? 'nothing'}`;
}

/** The answer as the client's types describe it, or a message saying what is wrong. */
export function checkAnswer(kind: AnswerKind, answer: unknown): { ok: true; value: unknown } | { ok: false; message: string } {
  if (kind === 'models' && Array.isArray(answer)) return { ok: true, value: answer };
  if (!isObject(answer)) return { ok: false, message: 'expected a JSON object' };
  const status = answer.status;
  const allowed = kind === 'job' ? ['success', 'processing'] : ['success'];
  if (typeof status !== 'string' || !allowed.includes(status)) {
    return { ok: false, message: `status: expected ${allowed.map((s) => `"${s}"`).join(' or ')}, received ${JSON.stringify(status) ?? 'nothing'}` };
  }
  const checks = kind === 'job' ? JOB[status]! : kind === 'upload' ? [['output', 'string'] as Check] : kind === 'models' ? [['models', 'array'] as Check] : [];
  const problem = missing(answer, checks);
  if (problem) return { ok: false, message: problem };
  return { ok: true, value: kind === 'models' ? answer.models : answer };
}

/** The API's error shape: `{ status: "error", message }`. */
export function errorAnswer(answer: unknown): { message: string; http_status?: number; retry_after?: number } | undefined {
  if (!isObject(answer) || answer.status !== 'error' || typeof answer.message !== 'string') return undefined;
  return {
    message: answer.message,
    ...(typeof answer.http_status === 'number' ? { http_status: answer.http_status } : {}),
    ...(typeof answer.retry_after === 'number' ? { retry_after: answer.retry_after } : {}),
  };
}
