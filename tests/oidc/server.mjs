#!/usr/bin/env node
// The real panva/oidc-provider, set up for tok's integration tests (tests/it/oidc.rs).
//
//   node tests/oidc/server.mjs [--clients FILE.json] [--no-device-interval]
//                              [--tls DIR [--dpop-nonce]]
//
// Listens on 127.0.0.1 on a free port, prints its issuer (`http://127.0.0.1:PORT`) as the
// first line on stdout, logs on stderr, and exits when its stdin closes: a test that dies
// (and so drops the pipe) never leaves it running. The clients, resources and quirks are
// described in tests/oidc/README.md; this file is their one definition.
//
// --tls DIR: HTTPS (issuer `https://127.0.0.1:PORT`) with DIR's server.pem/server-key.pem,
// plus a second HTTPS listener that asks for client certificates, published as the
// `mtls_endpoint_aliases` (RFC 8705 §5), with the mTLS feature and its clients on. The
// issuer's own listener never asks for a certificate, so a certificate only counts when the
// client used an alias. --dpop-nonce: every DPoP proof must carry a server nonce.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

import Provider, { errors } from 'oidc-provider';

// oidc-provider prints its notices with console.info: stdout is the issuer line's alone.
console.info = console.error;
console.log = console.error;

const here = path.dirname(fileURLToPath(import.meta.url));
const keyFile = (name) => fs.readFileSync(path.join(here, 'keys', name));

const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const option = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};

/** A public JWK from a private key file (PEM), with a `kid`. */
function publicJwk(pem, kid) {
  const jwk = crypto.createPublicKey(pem).export({ format: 'jwk' });
  return { ...jwk, kid, use: 'sig' };
}

function privateJwk(pem, kid) {
  return { ...crypto.createPrivateKey(pem).export({ format: 'jwk' }), kid, use: 'sig' };
}

export const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const DEVICE_CODE = 'urn:ietf:params:oauth:grant-type:device_code';
const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';
const LOOPBACK_REDIRECT = 'http://127.0.0.1/callback';
const ALL_GRANTS = ['authorization_code', 'refresh_token', 'client_credentials', DEVICE_CODE, TOKEN_EXCHANGE];

// Native clients (RFC 8252): oidc-provider lets a loopback redirect's port vary for them
// (§7.3), so a registered `http://127.0.0.1/callback` matches `http://127.0.0.1:PORT/callback`.
// The host and the path must still match exactly (`localhost` is another URI).
const native = {
  application_type: 'native',
  redirect_uris: [LOOPBACK_REDIRECT],
  response_types: ['code'],
  grant_types: ALL_GRANTS,
};

const clients = [
  // Public: PKCE required (oidc-provider's rule for `none`); device code too.
  {
    ...native,
    client_id: 'tok-public',
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code', 'refresh_token', DEVICE_CODE],
  },
  { ...native, client_id: 'tok-basic', client_secret: 'tok-basic-secret', token_endpoint_auth_method: 'client_secret_basic' },
  { ...native, client_id: 'tok-post', client_secret: 'tok-post-secret', token_endpoint_auth_method: 'client_secret_post' },
  {
    ...native,
    client_id: 'tok-secret-jwt',
    // HS256 assertions: a secret of 32 bytes and more.
    client_secret: 'tok-secret-jwt-secret-0123456789abcdef0123456789',
    token_endpoint_auth_method: 'client_secret_jwt',
  },
  ...[
    ['tok-rsa', 'test-only-client-rsa.pem', 'test-rsa'],
    ['tok-ec', 'test-only-client-ec-p256.pem', 'test-ec'],
    ['tok-ed25519', 'test-only-client-ed25519.pem', 'test-ed25519'],
  ].map(([client_id, file, kid]) => ({
    ...native,
    client_id,
    token_endpoint_auth_method: 'private_key_jwt',
    jwks: { keys: [publicJwk(keyFile(file), kid)] },
  })),
  {
    ...native,
    client_id: 'tok-par',
    client_secret: 'tok-par-secret',
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: ['authorization_code', 'refresh_token'],
    require_pushed_authorization_requests: true,
  },
];

// --tls DIR: the certificates the test made (tests/it/oidc_bound.rs), and the clients that
// need the mTLS feature. Every one is confidential and may use every grant.
const tlsDir = option('--tls');
const tlsFile = (name) => fs.readFileSync(path.join(tlsDir, name));
/** The subject of the CA-issued client certificate, as RFC 4514 writes it. */
export const TLS_CLIENT_DN = 'CN=tok-tls-client,O=tok tests';
if (tlsDir) {
  const selfSigned = new crypto.X509Certificate(tlsFile('self-signed.pem'));
  clients.push(
    {
      ...native,
      client_id: 'tok-tls',
      token_endpoint_auth_method: 'tls_client_auth',
      tls_client_auth_subject_dn: TLS_CLIENT_DN,
      tls_client_certificate_bound_access_tokens: true,
    },
    {
      ...native,
      client_id: 'tok-self-signed',
      token_endpoint_auth_method: 'self_signed_tls_client_auth',
      // The certificate itself is the credential: oidc-provider matches its x5t#S256.
      jwks: {
        keys: [{ ...selfSigned.publicKey.export({ format: 'jwk' }), kid: 'self-signed', x5c: [selfSigned.raw.toString('base64')] }],
      },
      tls_client_certificate_bound_access_tokens: true,
    },
    {
      // FAPI 2.0's other pairing: the certificate authenticates, DPoP binds the tokens
      // (oidc-provider allows one proof-of-possession mechanism per token request).
      ...native,
      client_id: 'tok-tls-dpop',
      token_endpoint_auth_method: 'tls_client_auth',
      tls_client_auth_subject_dn: TLS_CLIENT_DN,
      dpop_bound_access_tokens: true,
    },
    {
      ...native,
      client_id: 'tok-bound-jwt',
      token_endpoint_auth_method: 'private_key_jwt',
      jwks: { keys: [publicJwk(keyFile('test-only-client-ec-p256.pem'), 'test-ec')] },
      tls_client_certificate_bound_access_tokens: true,
    },
  );
}
// DPoP-bound clients: oidc-provider refuses their token requests without a proof.
clients.push(
  {
    ...native,
    client_id: 'tok-dpop',
    client_secret: 'tok-dpop-secret',
    token_endpoint_auth_method: 'client_secret_basic',
    dpop_bound_access_tokens: true,
  },
  {
    ...native,
    client_id: 'tok-dpop-public',
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code', 'refresh_token', DEVICE_CODE],
    dpop_bound_access_tokens: true,
  },
);

// Extra clients for one test: a JSON array of client metadata; `jwks_files` (an array of
// PEM private or public key paths) stands for `jwks`.
const extra = option('--clients');
if (extra) {
  for (const c of JSON.parse(fs.readFileSync(extra, 'utf8'))) {
    const { jwks_files: files, ...meta } = c;
    if (files) {
      meta.jwks = { keys: files.map((f, i) => publicJwk(fs.readFileSync(f), `${meta.client_id}-${i}`)) };
    }
    const at = clients.findIndex((known) => known.client_id === meta.client_id);
    if (at >= 0) clients.splice(at, 1);
    clients.push({ ...native, ...meta });
  }
}

// RFC 8707 resources: a token for one of these is a JWT (`typ: at+jwt`) with `aud` and
// `exp`; any other access token is opaque.
const RESOURCES = {
  'https://api.tok.test/': {
    scope: 'api:read api:write',
    accessTokenTTL: 300,
    accessTokenFormat: 'jwt',
    jwt: { sign: { alg: 'RS256' } },
  },
  'https://ledger.tok.test/': {
    scope: 'ledger:read',
    accessTokenTTL: 300,
    accessTokenFormat: 'jwt',
    jwt: { sign: { alg: 'ES256' } },
  },
};

function resourceServer(indicator) {
  const rs = RESOURCES[indicator];
  if (!rs) throw new errors.InvalidTarget();
  // The shape oidc-provider's own resolver gives a token (`identifier()` names its `aud`).
  return { ...rs, identifier: () => indicator, scopes: new Set(rs.scope.split(' ')) };
}

/** An exchanged token -> its subject token's `sub`, for the JWT customizer below. */
const exchangedSubjects = new WeakMap();

const listen = async (srv) => {
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', resolve));
  return srv.address().port;
};
const tlsOptions = tlsDir && { key: tlsFile('server-key.pem'), cert: tlsFile('server.pem'), ca: tlsFile('ca.pem') };
const server = tlsDir ? https.createServer(tlsOptions) : http.createServer();
const issuer = `${tlsDir ? 'https' : 'http'}://127.0.0.1:${await listen(server)}`;
// The mTLS listener: asks for a certificate, takes any (self-signed ones too, RFC 8705
// §2.2), and leaves the judging to oidc-provider (certificateAuthorized below).
const mtlsServer = tlsDir && https.createServer({ ...tlsOptions, requestCert: true, rejectUnauthorized: false });
const mtlsOrigin = tlsDir && `https://127.0.0.1:${await listen(mtlsServer)}`;

/** The client certificate of this request's TLS connection, if it sent one. */
function peerCertificate(ctx) {
  const raw = ctx.socket.getPeerCertificate?.()?.raw;
  return raw?.length ? new crypto.X509Certificate(raw) : undefined;
}

const mTLS = tlsDir
  ? {
      enabled: true,
      certificateBoundAccessTokens: true,
      tlsClientAuth: true,
      selfSignedTlsClientAuth: true,
      getCertificate: peerCertificate,
      // Node verified the chain against our test CA (ca.pem) while not refusing others.
      certificateAuthorized: (ctx) => ctx.socket.authorized === true,
      certificateSubjectMatches(ctx, property, expected) {
        if (property !== 'tls_client_auth_subject_dn') return false;
        // X509Certificate lists RDNs in certificate order, one a line; RFC 4514 reverses.
        return peerCertificate(ctx)?.subject.split('\n').reverse().join(',') === expected;
      },
    }
  : { enabled: false };

const dPoP = {
  enabled: true,
  ...(flag('--dpop-nonce') ? { nonceSecret: crypto.randomBytes(32), requireNonce: () => true } : {}),
};

const provider = new Provider(issuer, {
  clients,
  jwks: {
    keys: [
      privateJwk(keyFile('test-only-provider-rsa.pem'), 'provider-rsa'),
      privateJwk(keyFile('test-only-provider-ec-p256.pem'), 'provider-ec'),
    ],
  },
  cookies: { keys: ['test-only-cookie-key-not-a-secret'] },
  clientAuthMethods: [
    'none',
    'client_secret_basic',
    'client_secret_jwt',
    'client_secret_post',
    'private_key_jwt',
    ...(tlsDir ? ['tls_client_auth', 'self_signed_tls_client_auth'] : []),
  ],
  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    deviceFlow: { enabled: true },
    introspection: { enabled: true },
    revocation: { enabled: true },
    dPoP,
    mTLS,
    pushedAuthorizationRequests: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // A code or refresh token granted for one resource redeems for it without naming it.
      useGrantedResource: async () => true,
      getResourceServerInfo: async (_ctx, indicator) => resourceServer(indicator),
    },
  },
  // Every use of a refresh token rotates it (oidc-provider's default rotates only public
  // clients' always); a used one is refused with invalid_grant and revokes the grant.
  rotateRefreshToken: true,
  ttl: {
    // A token for a resource lives as long as that resource says (5 minutes).
    AccessToken: (_ctx, token) => token.resourceServer?.accessTokenTTL || 600,
    AuthorizationCode: 60,
    ClientCredentials: (_ctx, token) => token.resourceServer?.accessTokenTTL || 600,
    DeviceCode: 600,
    IdToken: 600,
    RefreshToken: 3600,
    Interaction: 600,
    Session: 3600,
    Grant: 3600,
  },
  formats: {
    customizers: {
      // An exchanged JWT names the subject token's subject and, as RFC 8693 §4.1's
      // `act`, the client that exchanged it.
      async jwt(_ctx, token, jwt) {
        const subject = exchangedSubjects.get(token);
        if (subject) {
          jwt.payload.sub = subject;
          jwt.payload.act = { sub: token.clientId };
        }
      },
    },
  },
});

const providerKeys = {
  'provider-rsa': { key: crypto.createPublicKey(keyFile('test-only-provider-rsa.pem')), alg: 'RS256' },
  'provider-ec': { key: crypto.createPublicKey(keyFile('test-only-provider-ec-p256.pem')), alg: 'ES256' },
};

/**
 * A JWT access token this provider signed, still valid, as {accountId, clientId, scope}; or
 * undefined. oidc-provider keeps no record of the JWTs it issues, so it cannot find them.
 */
function ownJwt(value) {
  const parts = typeof value === 'string' ? value.split('.') : [];
  if (parts.length !== 3) return undefined;
  try {
    const [header, payload] = parts.slice(0, 2).map((p) => JSON.parse(Buffer.from(p, 'base64url')));
    const known = providerKeys[header.kid];
    if (!known || known.alg !== header.alg || header.typ !== 'at+jwt') return undefined;
    const ok = crypto.verify(
      'sha256',
      Buffer.from(`${parts[0]}.${parts[1]}`),
      { key: known.key, dsaEncoding: 'ieee-p1363' },
      Buffer.from(parts[2], 'base64url'),
    );
    if (!ok || payload.iss !== issuer || !(payload.exp > Date.now() / 1000)) return undefined;
    const user = payload.sub !== payload.client_id ? payload.sub : undefined;
    return { accountId: user, clientId: payload.client_id, scope: payload.scope, isExpired: false };
  } catch {
    return undefined;
  }
}

// RFC 8693 token exchange: the subject token must be a live access token of this
// provider (any client's, user or client credentials); the reply is a new access token for
// the authenticated client, a JWT when a resource (or an audience naming one) is asked for.
provider.registerGrantType(
  TOKEN_EXCHANGE,
  async function tokenExchange(ctx) {
    const { params, client } = ctx.oidc;
    if (params.subject_token_type !== ACCESS_TOKEN_TYPE) {
      throw new errors.InvalidRequest(`subject_token_type must be ${ACCESS_TOKEN_TYPE}`);
    }
    if (params.requested_token_type && params.requested_token_type !== ACCESS_TOKEN_TYPE) {
      throw new errors.InvalidRequest(`requested_token_type must be ${ACCESS_TOKEN_TYPE}`);
    }
    if (params.actor_token) {
      throw new errors.InvalidRequest('actor_token is not supported');
    }
    const subject = (await provider.AccessToken.find(params.subject_token))
      || (await provider.ClientCredentials.find(params.subject_token))
      || ownJwt(params.subject_token);
    if (!subject || subject.isExpired) {
      throw new errors.InvalidGrant('subject_token is invalid or expired');
    }
    const asList = (v) => (v === undefined ? [] : [v].flat());
    const targets = [...new Set([...asList(params.resource), ...asList(params.audience)])];
    if (targets.length > 1) {
      throw new errors.InvalidTarget('only one resource or audience may be asked for');
    }
    const rs = targets.length ? resourceServer(targets[0]) : undefined;

    const had = new Set((subject.scope || '').split(' ').filter(Boolean));
    let scope = params.scope ? params.scope.split(' ').filter(Boolean) : [...had];
    if (params.scope && !scope.every((s) => had.has(s) || rs?.scope.split(' ').includes(s))) {
      throw new errors.InvalidScope('a requested scope is not held by the subject token', params.scope);
    }
    if (rs) {
      const allowed = new Set(rs.scope.split(' '));
      scope = scope.filter((s) => allowed.has(s));
    }

    const token = new provider.ClientCredentials({
      client,
      scope: scope.join(' ') || undefined,
    });
    exchangedSubjects.set(token, subject.accountId || subject.clientId);
    if (rs) token.resourceServer = rs;
    const value = await token.save();
    ctx.body = {
      access_token: value,
      issued_token_type: ACCESS_TOKEN_TYPE,
      token_type: 'Bearer',
      expires_in: token.expiration,
      ...(token.scope ? { scope: token.scope } : {}),
    };
  },
  ['audience', 'resource', 'scope', 'requested_token_type', 'subject_token', 'subject_token_type', 'actor_token', 'actor_token_type'],
  ['audience', 'resource'],
);

// GET /_test/stats: how many requests reached each `METHOD /path` (not part of
// oidc-provider; a test reads it to assert what tok sent and how often).
const requests = {};
provider.use(async (ctx, next) => {
  if (ctx.method === 'GET' && ctx.path === '/_test/stats') {
    ctx.body = { requests };
    return;
  }
  const route = `${ctx.method} ${ctx.path}`;
  requests[route] = (requests[route] || 0) + 1;
  try {
    await next();
  } finally {
    // Also per listener and status ("POST /token mtls 400"): which door a client used,
    // and how often it was refused (a DPoP nonce challenge is a 400 or a 401).
    const door = mtlsOrigin && ctx.socket.localPort === mtlsServer.address().port ? 'mtls' : 'issuer';
    const answered = `${route} ${door} ${ctx.status}`;
    requests[answered] = (requests[answered] || 0) + 1;
  }
});

// The mTLS aliases (RFC 8705 §5): oidc-provider 9 has no option for them, so the
// discovery document gets them here; the same app serves both listeners.
if (mtlsOrigin) {
  const aliased = [
    'token_endpoint',
    'userinfo_endpoint',
    'introspection_endpoint',
    'revocation_endpoint',
    'device_authorization_endpoint',
    'pushed_authorization_request_endpoint',
  ];
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.oidc?.route === 'discovery' && ctx.status === 200) {
      const aliases = Object.fromEntries(
        aliased.map((name) => [name, ctx.body[name].replace(issuer, mtlsOrigin)]),
      );
      ctx.body = { ...ctx.body, mtls_endpoint_aliases: aliases };
    }
  });
}

// oidc-provider's device authorization reply has no `interval`, so a client polls every
// 5 s (RFC 8628 §3.2's default). The tests add `interval: 1` to stay fast;
// --no-device-interval keeps the bare reply.
if (!flag('--no-device-interval')) {
  provider.use(async (ctx, next) => {
    await next();
    if (ctx.oidc?.route === 'device_authorization' && ctx.status === 200 && ctx.body?.device_code) {
      ctx.body = { ...ctx.body, interval: 1 };
    }
  });
}

// Why a request failed, in the server log (the replies say only "grant request is invalid").
for (const event of ['grant.error', 'userinfo.error', 'authorization.error', 'server_error', 'pushed_authorization_request.error', 'device_authorization.error', 'introspection.error']) {
  provider.on(event, (_ctx, err) => {
    console.error(`${event}: ${err.error || err.name} ${err.error_detail || err.message}${err.cause ? ` (${err.cause.message})` : ''}`);
  });
}

server.on('request', provider.callback());
if (mtlsServer) mtlsServer.on('request', provider.callback());
process.stdout.write(`${issuer}\n`);
console.error(`oidc-provider ready at ${issuer} (clients: ${clients.map((c) => c.client_id).join(', ')})`);

// The test holds our stdin: when it closes (the test ended or died), so do we.
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
