import t from 'tap';
import { statSync, mkdtempSync, rmSync, writeFileSync, readFileSync, unlinkSync } from 'node:fs';
import { createConnection } from 'node:net';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlServer, ControlError, ListReply, MAX_CONNECTIONS, MAX_REQUEST_BYTES } from '../../src/control/control-server.js';
import { controlRequest, callDaemon } from '../../src/control/control-client.js';

/** Send raw bytes, collect response lines until the server has answered `n` lines or closed. */
function raw(path: string, data: string, n: number): Promise<{ lines: any[]; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const s = createConnection(path);
    let buf = '';
    let closed = false;
    const done = () => resolve({ lines: buf.split('\n').slice(0, closed ? undefined : -1).filter(Boolean).map((l) => JSON.parse(l)), closed });
    s.setEncoding('utf8');
    s.on('connect', () => s.write(data));
    s.on('data', (d: string) => {
      buf += d;
      if (buf.split('\n').slice(0, -1).filter(Boolean).length >= n) { s.destroy(); done(); }
    });
    s.on('error', (e: NodeJS.ErrnoException) => (e.code === 'EPIPE' || e.code === 'ECONNRESET' ? undefined : reject(e)));
    s.on('close', () => { closed = true; done(); });
  });
}

t.test('control server protocol', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vtepd-ctl-'));
  const path = join(dir, 'sub', 'vtepd.sock');
  const calls: unknown[] = [];
  const srv = new ControlServer({
    path,
    handlers: {
      echo: (a) => a,
      slow: async (a) => { await new Promise((r) => setTimeout(r, 20)); return a; },
      needsVni: (a) => { if (typeof a.vni !== 'number') throw new ControlError('vni: must be a number'); return a.vni; },
      boom: () => { throw new Error('internal kaboom'); },
    },
    onError: (e, cmd) => calls.push([cmd, e.message]),
  });
  await srv.listen();
  t.teardown(async () => { await srv.close(); rmSync(dir, { recursive: true, force: true }); });

  t.equal(statSync(path).mode & 0o777, 0o600, 'socket is mode 0600');
  t.ok(statSync(path).isSocket());

  t.same(await controlRequest(path, 'echo', { a: 1 }), { id: 1, ok: true, result: { a: 1 } });
  t.same(await callDaemon(path, 'needsVni', { vni: 5 }), 5);
  await t.rejects(callDaemon(path, 'needsVni', {}), /vni: must be a number/);

  // Bad JSON, a non-object, unknown command, bad args, handler crash: each one error line, connection kept.
  const r = await raw(path, [
    '{"id": 1, "cmd": ',
    '[1,2]',
    '{"id": 3, "cmd": "nope"}',
    '{"id": 4, "cmd": "echo", "args": [1]}',
    '{"id": 5}',
    '{"id": 6, "cmd": "boom"}',
    '{"id": 7, "cmd": "slow", "args": {"x": 1}}',
    '{"id": 8, "cmd": "echo", "args": {"y": 2}}',
    '{"id": 9, "cmd": "__proto__"}',
    '{"id": 10, "cmd": "toString"}',
  ].join('\n') + '\n', 10);
  t.same(r.lines.map((l) => l.error?.code ?? 'ok'), ['bad-json', 'bad-request', 'unknown-command', 'bad-request', 'bad-request', 'failed', 'ok', 'ok', 'unknown-command', 'unknown-command']);
  t.match(r.lines[0].error.message, /not valid JSON/);
  t.match(r.lines[2].error.message, /unknown command "nope"; known: echo, slow, needsVni, boom/);
  t.same(r.lines.map((l) => l.id), [null, null, 3, 4, 5, 6, 7, 8, 9, 10], 'answers in request order, ids echoed');
  t.same(calls, [['boom', 'internal kaboom']], 'internal failures reach the logger');

  // Oversized request: one error, then the server closes that connection.
  const big = await raw(path, '{"id":1,"cmd":"echo","args":{"s":"' + 'x'.repeat(MAX_REQUEST_BYTES + 10) + '"}}\n', 1);
  t.equal(big.lines[0].error.code, 'too-large');
  // Without a newline at all, the buffer limit still applies.
  const big2 = await raw(path, 'y'.repeat(MAX_REQUEST_BYTES * 2), 1);
  t.equal(big2.lines[0].error.code, 'too-large');

  // Still serving after all that.
  t.same(await callDaemon(path, 'echo', { ok: true }), { ok: true });
});

t.test('a second server on a live socket refuses; a stale socket is replaced', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vtepd-ctl-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const path = join(dir, 's.sock');
  const a = new ControlServer({ path, handlers: { who: () => 'a' } });
  await a.listen();
  const b = new ControlServer({ path, handlers: { who: () => 'b' } });
  await t.rejects(b.listen(), /another vtepd is already listening/);
  t.equal(await callDaemon(path, 'who'), 'a');
  await a.close();
  await t.rejects(callDaemon(path, 'who'), /no daemon is listening/);
  // A daemon killed with SIGKILL leaves its socket file behind: the next one takes over.
  const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`]);
  await new Promise((r) => child.stdout.once('data', r));
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  t.ok(statSync(path).isSocket(), 'stale socket file left behind');
  const c = new ControlServer({ path, handlers: { who: () => 'c' } });
  await c.listen();
  t.equal(await callDaemon(path, 'who'), 'c');
  await c.close();
  const notSock = join(dir, 'file');
  writeFileSync(notSock, 'x');
  await t.rejects(new ControlServer({ path: notSock, handlers: {} }).listen(), /exists and is not a socket/);
});

t.test('client errors when no daemon runs', async (t) => {
  await t.rejects(callDaemon('/nonexistent-dir/vtepd.sock', 'stats'), /no daemon is listening on \/nonexistent-dir\/vtepd.sock \(is vtepd running\?\)/);
});

// ---------------------------------------------------------------- issue #15: the socket file, backpressure, busy

t.test('only the socket this server bound is ever unlinked', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vtepd-ctl-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  // A regular file at the path: refused, and still there with its content after close().
  const file = join(dir, 'file.sock');
  writeFileSync(file, 'precious');
  const f = new ControlServer({ path: file, handlers: {} });
  await t.rejects(f.listen(), /exists and is not a socket/);
  await f.close();
  t.equal(readFileSync(file, 'utf8'), 'precious', 'a regular file at control.socket survives a refused start');
  // A live daemon's socket: the second server refuses, and its close() leaves the first one's socket alone.
  const path = join(dir, 's.sock');
  const a = new ControlServer({ path, handlers: { who: () => 'a' } });
  await a.listen();
  const b = new ControlServer({ path, handlers: { who: () => 'b' } });
  await t.rejects(b.listen(), /another vtepd is already listening/);
  await b.close();
  t.ok(statSync(path).isSocket(), 'the live socket is still there');
  t.equal(await callDaemon(path, 'who'), 'a', 'and the first daemon can still be controlled');
  // The path taken over by another server after ours: close() checks the inode and leaves it.
  unlinkSync(path);
  const c = new ControlServer({ path, handlers: { who: () => 'c' } });
  await c.listen();
  await a.close();
  t.equal(await callDaemon(path, 'who'), 'c', "a server's close() does not unlink a socket it did not bind");
  await c.close();
  t.throws(() => statSync(path), /ENOENT/, 'but its own socket it does unlink');
});

/** Heap + external memory now (what queued replies occupy). */
const mem = (): number => { const m = process.memoryUsage(); return m.heapUsed + m.external + m.arrayBuffers; };

t.test('backpressure: a client that does not read cannot grow the server without bound', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vtepd-ctl-'));
  const path = join(dir, 's.sock');
  const item = { vni: 100, vlan: null, mac: '02:00:00:00:00:01', port: null, remote: '192.0.2.2', static: false, ageSeconds: 1 };
  const table = Array.from({ length: 1500 }, () => item); // ~130 KB of JSON per reply
  const srv = new ControlServer({ path, handlers: { big: () => table, stream: () => new ListReply(table) }, stallMs: 1500 });
  await srv.listen();
  t.teardown(async () => { await srv.close(); rmSync(dir, { recursive: true, force: true }); });

  for (const cmd of ['big', 'stream']) {
    const base = mem();
    let peak = 0;
    const s = createConnection(path);
    await new Promise((r) => s.once('connect', r));
    s.pause(); // never reads
    let closedAt = 0;
    s.on('error', () => undefined);
    const t0 = Date.now();
    // 2000 pipelined requests: 260 MB of replies if they were all queued.
    s.write(Array.from({ length: 2000 }, (_, i) => JSON.stringify({ id: i, cmd })).join('\n') + '\n');
    while (closedAt === 0 && Date.now() - t0 < 8000) {
      await new Promise((r) => setTimeout(r, 50));
      peak = Math.max(peak, mem() - base);
      if (srv.connections === 0) closedAt = Date.now();
    }
    t.ok(peak < 48 << 20, `${cmd}: memory grew by ${(peak / 2 ** 20).toFixed(1)} MB at most (2000 replies of 130 KB requested)`);
    t.ok(closedAt > 0, `${cmd}: the stalled client was dropped (after ${closedAt - t0} ms)`);
    s.destroy();
  }
  // A client that reads gets the streamed reply whole, byte for byte the JSON of the list.
  const r = await raw(path, '{"id":7,"cmd":"stream"}\n{"id":8,"cmd":"big"}\n', 2);
  t.same(r.lines[0], { id: 7, ok: true, result: table }, 'streamed reply = one JSON line');
  t.same(r.lines[1], { id: 8, ok: true, result: table });
  await new Promise((r) => setTimeout(r, 50));
  t.equal(srv.connections, 0, 'every connection gone');
});

t.test('requests of a client that has gone stop running', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vtepd-ctl-'));
  const path = join(dir, 's.sock');
  let calls = 0;
  let aborted = 0;
  const srv = new ControlServer({
    path,
    handlers: {
      slow: async () => { calls++; await new Promise((r) => setTimeout(r, 20)); return calls; },
      long: (_a, ctx) => new Promise((resolve) => { ctx.signal.addEventListener('abort', () => { aborted++; resolve(null); }); }),
    },
  });
  await srv.listen();
  t.teardown(async () => { await srv.close(); rmSync(dir, { recursive: true, force: true }); });
  const s = createConnection(path);
  s.setEncoding('utf8');
  await new Promise((r) => s.once('connect', r));
  s.write(Array.from({ length: 200 }, (_, i) => JSON.stringify({ id: i, cmd: 'slow' })).join('\n') + '\n');
  await new Promise((r) => s.once('data', r));
  s.destroy();
  await new Promise((r) => setTimeout(r, 300));
  const after = calls;
  await new Promise((r) => setTimeout(r, 600));
  t.ok(after <= 3, `at most the running request finished after the client left (${after} of 200 ran)`);
  t.equal(calls, after, 'and nothing more started');
  // A handler still running when its connection is closed (the daemon stops, or dropped a stalled client) is told.
  const l = createConnection(path);
  l.on('error', () => undefined);
  await new Promise((r) => l.once('connect', r));
  l.write('{"id":1,"cmd":"long"}\n');
  await new Promise((r) => setTimeout(r, 100));
  await srv.close();
  t.equal(aborted, 1, 'the running handler is told (ctx.signal) that its client has gone');
});

t.test('at the connection limit a client gets a busy answer', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'vtepd-ctl-'));
  const path = join(dir, 's.sock');
  const srv = new ControlServer({ path, handlers: { ping: () => 'pong' } });
  await srv.listen();
  t.teardown(async () => { await srv.close(); rmSync(dir, { recursive: true, force: true }); });
  const idle = [];
  for (let i = 0; i < MAX_CONNECTIONS; i++) {
    const s = createConnection(path);
    await new Promise((r) => s.once('connect', r));
    idle.push(s);
  }
  await new Promise((r) => setTimeout(r, 50));
  const res = await controlRequest(path, 'ping');
  t.match(res, { ok: false, error: { code: 'busy', message: `vtepd is busy (${MAX_CONNECTIONS} clients connected); try again later` } });
  await t.rejects(callDaemon(path, 'ping'), new RegExp(`^vtepd is busy \\(${MAX_CONNECTIONS} clients connected\\)`));
  idle.pop()!.destroy();
  await new Promise((r) => setTimeout(r, 50));
  t.equal(await callDaemon(path, 'ping'), 'pong', 'served again once a client left');
  for (const s of idle) s.destroy();
});
