import t from 'tap';
import { statSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlServer, ControlError, MAX_REQUEST_BYTES } from '../../src/control/control-server.js';
import { controlRequest, callDaemon } from '../../src/control/control-client.js';

/** Send raw bytes, collect response lines until the server has answered `n` lines or closed. */
function raw(path: string, data: string, n: number): Promise<{ lines: any[]; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const s = createConnection(path);
    let buf = '';
    let closed = false;
    const done = () => resolve({ lines: buf.split('\n').filter(Boolean).map((l) => JSON.parse(l)), closed });
    s.setEncoding('utf8');
    s.on('connect', () => s.write(data));
    s.on('data', (d: string) => {
      buf += d;
      if (buf.split('\n').filter(Boolean).length >= n) { s.destroy(); done(); }
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
