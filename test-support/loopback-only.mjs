// Tests may only talk to this machine: every TCP connection of the test process (and, through
// NODE_OPTIONS, of the processes it starts) is checked here, below any guard of the code under
// test, and refused unless it goes to a loopback address. A second line of defence: if the
// server's SSRF guard regressed, a test would fail instead of reaching the network.
import dns from 'node:dns';
import net from 'node:net';

const marker = Symbol.for('superres.loopbackOnly');

export function isLoopback(address) {
  if (net.isIPv4(address)) return address.startsWith('127.');
  const ip = address.replace(/^\[|\]$/g, '').toLowerCase();
  return ip === '::1' || ip === '0:0:0:0:0:0:0:1' || /^::ffff:127\./.test(ip);
}

export class NonLoopbackConnectionError extends Error {
  constructor(target) {
    super(`test network guard: refused a connection to ${target} (tests may only reach loopback addresses)`);
    this.name = 'NonLoopbackConnectionError';
    this.code = 'E_TEST_NON_LOOPBACK';
  }
}

/** Wraps a dns.lookup-style function so it answers loopback addresses only. */
function loopbackLookup(lookup) {
  return function guardedLookup(hostname, options, callback) {
    const cb = typeof options === 'function' ? options : callback;
    const opts = typeof options === 'function' ? {} : options;
    lookup(hostname, opts, (err, address, family) => {
      if (err) return cb(err);
      const all = Array.isArray(address) ? address : [{ address, family }];
      const outside = all.find((a) => !isLoopback(a.address));
      if (outside) return cb(new NonLoopbackConnectionError(`${hostname} (${outside.address})`));
      return cb(null, address, family);
    });
  };
}

function install() {
  if (globalThis[marker]) return;
  globalThis[marker] = true;
  const connect = net.Socket.prototype.connect;
  net.Socket.prototype.connect = function guardedConnect(...args) {
    // net.connect hands over [options, callback] already normalised; else (options | port, host).
    const first = Array.isArray(args[0]) ? args[0][0] : args[0];
    const options = first !== null && typeof first === 'object' ? first : { port: first, host: typeof args[1] === 'string' ? args[1] : 'localhost' };
    if (options.path !== undefined) return connect.apply(this, args); // a local (Unix) socket
    const host = options.host ?? 'localhost';
    if (net.isIP(host.replace(/^\[|\]$/g, ''))) {
      if (!isLoopback(host)) {
        process.nextTick(() => this.destroy(new NonLoopbackConnectionError(host)));
        return this;
      }
      return connect.apply(this, args);
    }
    const guarded = { ...options, lookup: loopbackLookup(options.lookup ?? dns.lookup) };
    if (Array.isArray(args[0])) {
      // Keep net's marker symbol on the normalised array.
      const normalised = [guarded, ...args[0].slice(1)];
      for (const symbol of Object.getOwnPropertySymbols(args[0])) normalised[symbol] = args[0][symbol];
      return connect.call(this, normalised, ...args.slice(1));
    }
    if (first !== null && typeof first === 'object') return connect.call(this, guarded, ...args.slice(1));
    return connect.call(this, guarded, ...args.slice(typeof args[1] === 'string' ? 2 : 1));
  };
}

install();
