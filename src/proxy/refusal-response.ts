/**
 * A response written straight to a socket that an Upgrade came in on: enough of ServerResponse
 * for the refusals in proxy/errors.ts. A pipelined response may still own the socket, so no
 * ServerResponse can be bound to it. It ends with the socket closed.
 */
import { ServerResponse, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';

export class RefusalResponse extends ServerResponse {
  readonly #socket: Socket;
  constructor(req: IncomingMessage, socket: Socket) {
    super(req);
    this.#socket = socket;
  }
  override writeHead(status: number, headers?: unknown): this {
    const lines = [`HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}`, 'connection: close'];
    for (const [name, value] of Object.entries((headers ?? {}) as Record<string, string | number>)) if (name.toLowerCase() !== 'connection') lines.push(`${name}: ${value}`);
    this.#head = `${lines.join('\r\n')}\r\n\r\n`;
    return this;
  }
  #head = '';
  override end(body?: unknown): this {
    if (this.#socket.writable) this.#socket.end(this.#head + (typeof body === 'string' ? body : ''));
    this.#socket.destroySoon();
    return this;
  }
}

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 431: 'Request Header Fields Too Large', 503: 'Service Unavailable' };
