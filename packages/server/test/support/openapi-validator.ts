/**
 * Checks live answers against the server's own /openapi.json: the response's status must be
 * documented for the operation, with the answer's content type, and its JSON body must match the
 * documented schema (Ajv, JSON Schema 2020-12 as OpenAPI 3.1 uses).
 */
import { Ajv2020 } from 'ajv/dist/2020.js';

type Json = Record<string, unknown>;

export interface LiveAnswer {
  method: string;
  /** The document's path template, e.g. `/api/v1/enterprise/fetch/{id}`. */
  path: string;
  status: number;
  contentType: string;
  /** Parsed JSON (for JSON answers). */
  body?: unknown;
}

const pointer = (part: string) => part.replace(/~/g, '~0').replace(/\//g, '~1');

/** A media-type key matches `image/*` style ranges and ignores parameters (`; charset=utf-8`). */
function mediaMatches(documented: string, actual: string): boolean {
  const type = actual.split(';')[0]!.trim().toLowerCase();
  if (documented === type) return true;
  return documented.endsWith('/*') && type.startsWith(documented.slice(0, -1));
}

export class OpenApiValidator {
  private readonly ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
  /** Operations answered so far, as `method path status`. */
  readonly seen = new Set<string>();

  constructor(private readonly document: Json) {
    // The whole document as one schema: component `$ref`s resolve inside it.
    this.ajv.addSchema(document, 'openapi');
  }

  /** Throws, naming the operation and every mismatch, when the answer is not as documented. */
  check(answer: LiveAnswer): void {
    const where = `${answer.method.toUpperCase()} ${answer.path} -> ${answer.status}`;
    const operation = ((this.document.paths as Json)[answer.path] as Json | undefined)?.[answer.method.toLowerCase()] as Json | undefined;
    if (!operation) throw new Error(`${where}: no such operation in the document`);
    const responses = operation.responses as Record<string, Json>;
    const key = String(answer.status);
    const response = responses[key];
    if (!response) throw new Error(`${where}: status not documented (documented: ${Object.keys(responses).join(', ')})`);
    const content = (response.content ?? {}) as Record<string, Json>;
    const media = Object.keys(content).find((documented) => mediaMatches(documented, answer.contentType));
    if (media === undefined) throw new Error(`${where}: content type ${answer.contentType} not documented (${Object.keys(content).join(', ')})`);
    this.seen.add(`${answer.method.toLowerCase()} ${answer.path} ${key}`);
    if (!media.endsWith('json') || !content[media]!.schema) return;
    const ref = `openapi#/paths/${pointer(answer.path)}/${answer.method.toLowerCase()}/responses/${key}/content/${pointer(media)}/schema`;
    const validate = this.ajv.getSchema(ref) ?? this.ajv.compile({ $ref: ref });
    if (!validate(answer.body)) {
      const problems = (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
      throw new Error(`${where}: body does not match the document:\n  ${problems.join('\n  ')}\nbody: ${JSON.stringify(answer.body).slice(0, 500)}`);
    }
  }
}
