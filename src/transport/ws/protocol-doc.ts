/**
 * The socket protocol in prose, for the OpenAPI document's `realtime` tag
 * (OpenAPI 3.1 has no way to describe a WebSocket, so the route itself is hidden).
 */
import { CLOSE } from './close-codes'
import { LIMITS } from './protocol'

export const SOCKET_PROTOCOL_DOC = `
**WebSocket \`GET /api/v1/ws\`** — live events of your generations and batches, and generate/cancel without HTTP.

**Authentication on upgrade**: the session cookie (browsers, same origin only), \`Authorization: Bearer <access token or API key>\`,
or a one-time \`?ticket=\` from \`POST /api/v1/ws/ticket\` (single use, 30 s). Otherwise the upgrade is refused with 401 in the error envelope.

**Server → client**: \`{ "v": 1, "id", "type", "ts", "data" }\`. Log events (\`generation.queued|started|progress|completed|failed|cancelled\`,
\`batch.*\`, \`quota.updated|warning\`) carry ids \`<ms>-<seq>\`; \`hello\`, \`ack\`, \`error\`, \`resync\` and \`pong\` carry \`m<n>\` ids and are not resumable.
\`hello\` (first message): \`user\`, \`node\`, \`serverTime\`, \`latestEventId\`, \`limits\`. \`generation.progress\` is thinned to
${LIMITS.progressPerSecond}/s per job; stage changes and 100 % always arrive.

**Client → server** (JSON text, ≤ ${LIMITS.maxMessageBytes / 1024} KiB):
- \`{ "type": "resume", "lastEventId" }\` — replays every event after it, then live; \`resync\` when that id is older than the log keeps
  (refetch over REST, then continue from \`resync.data.latestEventId\`). Send it first; a new client sends \`hello.latestEventId\`.
  Without any first message the socket goes live from \`hello\` after ${LIMITS.resumeGraceMs} ms.
- \`{ "type": "generate", "requestId", "input" }\` — the \`POST /api/v1/generations\` body, same validation, rate limit and quota;
  answered by \`ack { requestId, id, generation }\` or \`error { code, message, requestId }\`.
- \`{ "type": "cancel", "id", "requestId?" }\` — \`ack\` when a requestId was given, or \`error\` (NOT_FOUND, CONFLICT).
- \`{ "type": "ping", "requestId?" }\` → \`pong\`.

Bad messages get an \`error\` event (VALIDATION_ERROR, PAYLOAD_TOO_LARGE, UNSUPPORTED_MEDIA_TYPE) and the socket stays open.

**Close codes**: ${CLOSE.SERVICE_RESTART} service restart (reconnect and resume), ${CLOSE.SLOW_CONSUMER} slow consumer (send buffer past
${LIMITS.sendBufferBytes / 1024 / 1024} MiB; reconnect and resume), ${CLOSE.TOO_MANY_SOCKETS} more than ${LIMITS.socketsPerUser} sockets for one user,
${CLOSE.UNAUTHORIZED} unauthorized, ${CLOSE.MESSAGE_TOO_BIG} frame past the hard limit. Idle sockets are pinged after ${LIMITS.idleTimeoutSeconds} s and closed when dead.
`.trim()
