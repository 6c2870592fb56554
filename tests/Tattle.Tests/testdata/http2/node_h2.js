// The node side of capture.py: "node node_h2.js server" listens (h2c, prior knowledge) and prints its port;
// "node node_h2.js client PORT" makes, on one connection and one after the other: an exchange with early
// hints (103) and trailers, one with a server push, one the client cancels (RST_STREAM CANCEL), and one the
// server answers with a GOAWAY whose last stream id leaves that stream out. "node node_h2.js pair" is both in one
// process (the end-to-end test traces it): on one connection GET /status/200, /status/201 and /missing (404),
// then /slow, which the client cancels; it prints each path with the status it got.
'use strict';
const http2 = require('node:http2');
const { constants } = http2;

function server(onListening) {
  const srv = http2.createServer();
  srv.on('stream', (stream, headers) => {
    const path = headers[':path'];
    if (path === '/hints') {
      stream.additionalHeaders({ ':status': 103, link: '</style.css>; rel=preload' });
      stream.respond({ ':status': 200, 'content-type': 'text/plain' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'x-checksum': 'abc123' }));
      stream.end('hinted body\n');
    } else if (path === '/push') {
      stream.pushStream({ ':path': '/pushed.css' }, (err, push) => {
        if (err) throw err;
        push.respond({ ':status': 200, 'content-type': 'text/css' });
        push.end('body { color: red }\n');
        stream.respond({ ':status': 200, 'content-type': 'text/html' });
        stream.end('<link rel=stylesheet href=/pushed.css>\n');
      });
    } else if (path === '/slow') {
      stream.respond({ ':status': 200, 'content-type': 'text/plain' });
      stream.write('first part\n');
      stream.on('error', () => {});
      // The rest never comes: the client cancels.
    } else if (path === '/goaway') {
      stream.on('error', () => {});
      stream.session.goaway(constants.NGHTTP2_ENHANCE_YOUR_CALM, stream.id - 2);
    } else if (path.startsWith('/status/')) {
      stream.respond({ ':status': Number(path.slice(8)), 'content-type': 'text/plain' });
      stream.end(`status ${path.slice(8)}\n`);
    } else {
      stream.respond({ ':status': 404 });
      stream.end();
    }
  });
  srv.on('sessionError', () => {});
  // An idle connection ends: node keeps its half of the socket open after the client's close.
  srv.on('session', (session) => session.setTimeout(300, () => session.destroy()));
  srv.listen(0, '127.0.0.1', () => onListening(srv));
}

function get(session, path, onResponse) {
  return new Promise((resolve) => {
    const req = session.request({ ':path': path, 'user-agent': 'node-capture' });
    req.on('response', (headers) => onResponse && onResponse(req, headers));
    req.on('data', () => {});
    req.on('close', resolve);
    req.on('error', () => {});
    req.end();
  });
}

function cancelSlow(session) {
  return new Promise((resolve) => {
    const req = session.request({ ':path': '/slow' });
    req.on('data', () => req.close(constants.NGHTTP2_CANCEL));
    req.on('close', resolve);
    req.on('error', () => {});
    req.end();
  });
}

async function pair(srv) {
  const session = http2.connect(`http://127.0.0.1:${srv.address().port}`);
  session.on('error', () => {});
  for (const path of ['/status/200', '/status/201', '/missing']) {
    await get(session, path, (req, headers) => console.log(path, headers[':status']));
  }
  await cancelSlow(session);
  console.log('/slow cancelled');
  session.close(() => srv.close());
}

async function client(port) {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on('error', () => {});
  session.on('stream', (pushed) => { pushed.on('data', () => {}); pushed.on('error', () => {}); });
  await get(session, '/hints');
  await get(session, '/push');
  await new Promise((r) => setTimeout(r, 100));
  await cancelSlow(session);
  await get(session, '/goaway');
  await new Promise((r) => setTimeout(r, 100));
  session.destroy();
}

if (process.argv[2] === 'server') {
  server((srv) => console.log(srv.address().port));
} else if (process.argv[2] === 'pair') {
  server(pair);
} else {
  client(Number(process.argv[3]));
}
