/** What every metric file shares: the duration buckets, and the cap on client-chosen names per server. */

/** From 1 ms to 10 minutes: a ping, a tool call, and an SSE stream that stays open for minutes. */
export const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

/** Tool, prompt and resource names a server may put in a label; past it, `other`. */
export const MCP_NAMES_PER_SERVER = 100;
