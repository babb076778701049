#!/usr/bin/env node
// A stand-in for a person at a browser, for oidc-provider's devInteractions pages.
//
//   browser.mjs AUTHORIZATION_URL          as $BROWSER: detaches, signs in, consents, and
//                                          delivers the redirect to the loopback callback
//   browser.mjs --device URL [USER_CODE]   completes a device login (URL may be the
//                                          verification_uri_complete, then no code)
//
// Environment (not TOK_*: tok keeps those from the programs it starts):
//   OIDC_BROWSER_LOGIN=name   the login typed in (default "alice"; any works, it becomes `sub`)
//   OIDC_BROWSER_DENY=1       press "[ Cancel ]" / "[ Abort ]" instead: access_denied
//   OIDC_BROWSER_WAIT=1       stay in the foreground; exit 0 only once the callback answered
//   OIDC_BROWSER_LOG=FILE     where the detached browser writes what it did (else stderr)
//   NODE_EXTRA_CA_CERTS=FILE  node's own: the test CA of a `server.mjs --tls` provider
//
// As a browser launcher it returns at once (the work goes on in a detached child, bounded
// to 30 s), so a caller that waits for it is not kept from answering the callback.
// It keeps cookies per path as a browser does, follows redirects with GET, and submits
// the page's form (auto-submitted form_post pages too).

import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { fileURLToPath } from 'node:url';

const env = process.env;
const LOGIN = env.OIDC_BROWSER_LOGIN || 'alice';
const DENY = env.OIDC_BROWSER_DENY === '1';
const LIMIT_MS = 30_000;

let logFd = 2;
function log(msg) {
  fs.writeSync(logFd, `browser: ${msg}\n`);
}

const args = process.argv.slice(2);
if (args.length === 0 || args[0] === '--help') {
  process.stderr.write('usage: browser.mjs URL | browser.mjs --device URL [USER_CODE]\n');
  process.exit(2);
}

const device = args[0] === '--device';
const foreground = device || env.OIDC_BROWSER_WAIT === '1' || env.OIDC_BROWSER_CHILD === '1';
if (!foreground) {
  // The launcher: start the browser proper and return, as xdg-open does.
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), ...args], {
    detached: true,
    stdio: 'ignore',
    env: { ...env, OIDC_BROWSER_CHILD: '1' },
  });
  child.unref();
  process.exit(0);
}
if (env.OIDC_BROWSER_CHILD === '1' && env.OIDC_BROWSER_LOG) {
  logFd = fs.openSync(env.OIDC_BROWSER_LOG, 'a');
}
setTimeout(() => fail(`gave up after ${LIMIT_MS / 1000} s`), LIMIT_MS).unref();

function fail(msg) {
  log(`FAILED: ${msg}`);
  process.exit(1);
}

// --- cookies: name -> {value, path}, per host:port ---
const jar = new Map();

function storeCookies(url, setCookie) {
  for (const line of setCookie || []) {
    const [pair, ...attrs] = line.split(';').map((s) => s.trim());
    const eq = pair.indexOf('=');
    const name = pair.slice(0, eq);
    const value = pair.slice(eq + 1);
    let cookiePath = '/';
    let gone = value === '';
    for (const a of attrs) {
      const [k, v = ''] = a.split('=');
      const key = k.toLowerCase();
      if (key === 'path') cookiePath = v;
      if (key === 'max-age' && Number(v) <= 0) gone = true;
      if (key === 'expires' && Date.parse(v) <= Date.now()) gone = true;
    }
    const host = jar.get(url.host) || new Map();
    jar.set(url.host, host);
    const id = `${name}\0${cookiePath}`;
    if (gone) host.delete(id);
    else host.set(id, { name, value, path: cookiePath });
  }
}

function cookieHeader(url) {
  const host = jar.get(url.host);
  if (!host) return undefined;
  const pathMatches = (p) => url.pathname === p || url.pathname.startsWith(p.endsWith('/') ? p : `${p}/`);
  const sent = [...host.values()].filter((c) => pathMatches(c.path)).map((c) => `${c.name}=${c.value}`);
  return sent.length ? sent.join('; ') : undefined;
}

function request(method, url, form) {
  const body = form ? new URLSearchParams(form).toString() : undefined;
  const headers = { accept: 'text/html', 'user-agent': 'tok-test-browser' };
  const cookie = cookieHeader(url);
  if (cookie) headers.cookie = cookie;
  if (body !== undefined) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    headers['content-length'] = Buffer.byteLength(body);
  }
  // HTTPS for a `--tls` provider: node trusts its test CA through NODE_EXTRA_CA_CERTS.
  const client = { 'http:': http, 'https:': https }[url.protocol];
  if (!client) fail(`only http and https are spoken here, not ${url.href}`);
  return new Promise((resolve, reject) => {
    const req = client.request(url, { method, headers }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        storeCookies(url, res.headers['set-cookie']);
        resolve({ status: res.statusCode, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

// --- HTML, as much as these pages need ---
function unescape(s) {
  return s
    .replace(/&#x([0-9a-f]+);/gi, (_, h) => String.fromCodePoint(parseInt(h, 16)))
    .replace(/&#(\d+);/g, (_, d) => String.fromCodePoint(Number(d)))
    .replace(/&quot;/g, '"')
    .replace(/&#39;|&apos;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

function attributes(tag) {
  const out = {};
  for (const m of tag.matchAll(/([a-zA-Z_:.-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/g)) {
    out[m[1].toLowerCase()] = unescape(m[2] ?? m[3] ?? m[4] ?? '');
  }
  return out;
}

function forms(html) {
  return [...html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)].map((m) => ({
    attrs: attributes(m[1]),
    inputs: [...m[2].matchAll(/<input\b([^>]*)>/gi)].map((i) => attributes(i[1])),
  }));
}

function text(html) {
  return html.replace(/<style[\s\S]*?<\/style>|<script[\s\S]*?<\/script>/gi, '').replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ').trim().slice(0, 300);
}

/** The page's form filled in as a person would; `extra` is the button pressed. */
function fill(form, values, extra = {}) {
  const data = {};
  for (const input of form.inputs) {
    if (!input.name) continue;
    data[input.name] = values[input.name] ?? input.value ?? '';
  }
  return { ...data, ...extra };
}

async function browse(start, userCode) {
  let method = 'GET';
  let url = new URL(start);
  // Any redirect off the provider's origin is the client's redirect URI.
  const provider = url.origin;
  let form;
  for (let step = 0; step < 20; step += 1) {
    if (url.origin !== provider) {
      const shown = url.searchParams.has('code') ? 'code' : `error=${url.searchParams.get('error')}`;
      log(`delivering the redirect to ${url.origin}${url.pathname} (${shown})`);
      const res = await request('GET', url);
      log(`callback answered ${res.status}`);
      return;
    }
    log(`${method} ${url.origin}${url.pathname}`);
    const res = await request(method, url, form);
    method = 'GET';
    form = undefined;
    if (res.status >= 300 && res.status < 400 && res.headers.location) {
      url = new URL(res.headers.location, url);
      continue;
    }
    const page = res.text;
    const found = forms(page);
    const title = (page.match(/<title>([^<]*)<\/title>/i) || [])[1] || '';
    if (res.status !== 200) fail(`${res.status} at ${url.pathname}: ${text(page)}`);
    if (/Sign-in Success/.test(title)) {
      log('device login done');
      return;
    }
    const cancel = page.match(/<a href="([^"]*)">\[ Cancel \]<\/a>/);
    if (DENY && cancel) {
      log('pressing [ Cancel ]');
      url = new URL(unescape(cancel[1]), url);
      continue;
    }
    const post = found.find((f) => (f.attrs.method || 'get').toLowerCase() === 'post');
    if (!post) fail(`no form on ${url.pathname} (${title}): ${text(page)}`);
    const names = new Set(post.inputs.map((i) => i.name));
    let extra = {};
    if (names.has('confirm') && DENY) {
      log('pressing [ Abort ]');
      extra = { abort: 'yes' };
    } else if (names.has('login')) {
      log(`signing in as ${LOGIN}`);
    } else if (names.has('user_code') && !names.has('confirm')) {
      if (!userCode && !post.inputs.find((i) => i.name === 'user_code')?.value) fail('the page asks for a user code');
      log('entering the user code');
    }
    form = fill(post, { login: LOGIN, password: 'any-password', ...(userCode ? { user_code: userCode } : {}) }, extra);
    method = 'POST';
    url = new URL(post.attrs.action || url.href, url);
    if (extra.abort) {
      const res2 = await request('POST', url, form);
      log(`aborted (${res2.status})`);
      return;
    }
  }
  fail('too many steps');
}

try {
  if (device) await browse(args[1], args[2]);
  else await browse(args[0]);
  process.exit(0);
} catch (e) {
  fail(e.message);
}
