/** The access log's line for one request (README, "Logs"): the route, never the URL (its query may hold a token). */
export function accessLogLine(method: string, route: string, status: number, elapsedMs: number, requestId: string) {
  return { msg: 'request', method, route, status, durationMs: Math.round(elapsedMs * 10) / 10, requestId };
}
