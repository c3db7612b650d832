/**
 * Client ids: one sequence for every kind of client (RTMP connections, HTTP-FLV and
 * WebSocket-FLV players), so that an id in a log line or the API names one client.
 */
let next = 1;

export function nextClientId(): number {
  return next++;
}
