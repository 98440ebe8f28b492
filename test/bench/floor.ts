/**
 * The bench's floor for a Node.js proxy: the least a reverse proxy on node:http can do — a
 * keep-alive agent, the request and answer streamed through, no checks, no headers rewritten,
 * no metrics. Not for use: it is what mcpmux's own cost is measured against.
 *   node floor.js PORT TARGET_PORT
 */
import http from 'node:http';

const [port, target] = process.argv.slice(2).map(Number);
const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity });
http
  .createServer((req, res) => {
    const upstream = http.request({ host: '127.0.0.1', port: target, method: req.method, path: req.url, headers: req.rawHeaders, agent }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.rawHeaders);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  })
  .listen(port, '127.0.0.1');
process.once('SIGTERM', () => process.exit(0));
