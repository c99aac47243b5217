/**
 * Errors Fastify and Node's HTTP parser answer on their own (a bad URL, a too-long parameter, a
 * header block past the size limit, a request during shutdown), in the API's shape:
 * `{ status: "error", message }`, so a client parses every error the same way.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';

export interface ApiErrorBody {
  status: 'error';
  message: string;
}

/** Fastify's `frameworkErrors`: routing errors (bad URL encoding, too-long parameters). */
export function frameworkErrorHandler(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  // The default messages quote the whole path, however long.
  const message = error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'A path parameter is longer than this server accepts' : error.message.slice(0, 300);
  const body: ApiErrorBody = { status: 'error', message };
  void reply.code(error.statusCode && error.statusCode >= 400 ? error.statusCode : 400).send(body);
}

/** Fastify's `clientErrorHandler`: what Node's parser refuses before there is a request. */
export function clientErrorHandler(error: NodeJS.ErrnoException, socket: Socket): void {
  // A reset connection has nobody left to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const [code, message] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'The request headers (or the URL) are larger than this server accepts']
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'The request took too long to arrive']
        : [400, 'Malformed HTTP request'];
  const body = JSON.stringify({ status: 'error', message } satisfies ApiErrorBody);
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${code} ${STATUS_CODES[code]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}

/** The answer to a request that arrives while the server shuts down. */
export function shuttingDownBody(): ApiErrorBody {
  return { status: 'error', message: 'The server is shutting down: retry shortly (or on another instance)' };
}
