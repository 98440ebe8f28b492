/**
 * The readiness canary: one process started, sent `initialize` as a client with no capabilities
 * would, and stopped once it answers. Never a session's process, and run only by readiness.ts.
 */
import { LATEST_PROTOCOL_VERSION, type JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import type { StdioProcess } from './stdio-process.js';

const CANARY_ID = 'mcpmux-canary';

/** Resolves once a process answered initialize with a result; rejects with why it did not. */
export async function runCanary(start: () => Promise<StdioProcess>, timeoutMs: number): Promise<void> {
  const process = await start();
  let timer: NodeJS.Timeout | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer in ${timeoutMs / 1000} s`)), timeoutMs);
      process.attach({
        onMessage: (message: JSONRPCMessage) => {
          if (!('id' in message) || message.id !== CANARY_ID || 'method' in message) return;
          if ('result' in message) resolve();
          else reject(new Error(`initialize returned an error: ${JSON.stringify((message as { error?: unknown }).error)}`));
        },
        onStdoutProblem: (problem) => {
          if (problem.kind === 'too-long') reject(new Error('a stdout line over the size limit'));
        },
      });
      void process.exited.then((exit) => reject(new Error(exit.signal ? `killed by ${exit.signal}` : `exited with code ${exit.code}`)));
      process.send({
        jsonrpc: '2.0',
        id: CANARY_ID,
        method: 'initialize',
        params: { protocolVersion: LATEST_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'mcpmux-bridge-canary', version: '1.0.0' } },
      });
    });
  } finally {
    clearTimeout(timer);
    await process.stop();
  }
}
