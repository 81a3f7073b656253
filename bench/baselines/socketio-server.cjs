// Socket.IO 4 on Node: the same room broadcast as Kiln's bench node (one room per user,
// events emitted into it), driven by the same stdin commands: emit <rate> <seconds>, rss, quit.
const { createServer } = require('node:http')
const { Server } = require('socket.io')
const readline = require('node:readline')

const users = Number(process.env.BENCH_USERS || 2500)
const http = createServer()
const io = new Server(http, { transports: ['websocket'], perMessageDeflate: false, serveClient: false })
let sockets = 0
io.on('connection', (socket) => {
  sockets++
  socket.join(`u${socket.handshake.query.u}`)
  socket.on('disconnect', () => sockets--)
})
const now = () => performance.timeOrigin + performance.now()
let seq = 0
function emitOne() {
  const n = seq++
  const u = n % users
  const job = Math.floor(n / users) % 64
  io.to(`u${u}`).emit('event', {
    v: 1,
    id: `${Date.now()}-${n}`,
    type: 'generation.progress',
    ts: new Date().toISOString(),
    data: { id: `gen_bench_${u}_${job}`, status: 'generating', stage: 'generating', progress: n % 100, etaSeconds: 1, sentAt: now() },
  })
}
async function emit(rate, seconds) {
  const start = performance.now()
  const end = start + seconds * 1000
  let sent = 0
  while (performance.now() < end) {
    // At most 1,000 a tick: a server that falls behind shows it as a lower achieved rate, not as a multi-second burst.
    const due = rate > 0 ? Math.min(1000, Math.floor(((performance.now() - start) / 1000) * rate) - sent) : 500
    for (let i = 0; i < due; i++) emitOne()
    sent += Math.max(0, due)
    await new Promise((r) => (due > 0 ? setImmediate(r) : setTimeout(r, 1)))
  }
  return sent
}
http.listen(Number(process.env.PORT || 0), '127.0.0.1', () => console.log(`ready ${http.address().port} -`))
const rl = readline.createInterface({ input: process.stdin })
rl.on('line', async (line) => {
  const [cmd, a = '0', b = '0'] = line.trim().split(/\s+/)
  if (cmd === 'emit') console.log(`emitted ${await emit(Number(a), Number(b))}`)
  else if (cmd === 'rss') console.log(`rss ${process.memoryUsage.rss()} sockets ${sockets}`)
  else if (cmd === 'quit') process.exit(0)
})
