// An OpenID Connect provider for the sign-in tests and for trying sign-in by hand: oidc-provider
// (the OpenID-certified Node implementation) with its own login page, a few test users carrying
// roles, one registered client (the portal), and JWT access tokens for the Invite Users API.
//
// Configuration comes from one JSON file named on the command line (see tests/support/oidc.py):
//   port            where to listen on 127.0.0.1 (0: any free port)
//   keys            the private JWKS the provider signs with (the tests make them, so they can
//                   also sign tokens with the provider's own key and a wrong claim); when absent,
//                   a new RSA key is made at start (demo.json, for trying sign-in by hand)
//   client          {client_id, client_secret, redirect_uris, post_logout_redirect_uris}
//   audience        the API's resource indicator; access tokens for it are JWTs with email and roles
//   users           {"bob@tech.gov.sg": {"name": "Bob", "roles": ["approver"]}, ...}; a user may name an
//                   "email" other than its login (the sub), and "email_verified": false, or null to
//                   leave the claim out (true when not given)
//   control_token   a secret for POST /test/keys, which replaces the signing keys (key rotation)
//   tls             optional {cert, key}: PEM files to serve https with, as a production provider does
// Once listening it prints one line of JSON, {"issuer": "http://127.0.0.1:<port>"} (https with tls), on stdout.
//
// The login page accepts any password for a listed user: it is oidc-provider's development
// interaction, made for exactly this. Never point a real deployment at it.

import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createTlsServer } from 'node:https';

import Provider, { errors } from 'oidc-provider';

const config = JSON.parse(readFileSync(process.argv[2], 'utf8'));
if (!config.keys) {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  config.keys = { keys: [{ ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), use: 'sig', alg: 'RS256' }] };
}
const users = config.users;

// what the provider says of a user's address: its email, and whether it checked it (left out when null)
function emailClaims(id) {
  const user = users[id];
  const verified = user.email_verified === undefined ? true : user.email_verified;
  return { email: user.email || id, ...(verified === null ? {} : { email_verified: verified }) };
}

function findAccount(ctx, id) {
  const user = users[id];
  if (!user) return undefined;
  return {
    accountId: id,
    async claims() {
      return { sub: id, ...emailClaims(id), name: user.name || id, roles: user.roles || [] };
    },
  };
}

function build(issuer, keys) {
  const provider = new Provider(issuer, {
    clients: [{
      ...config.client,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    }],
    jwks: keys,
    findAccount,
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'roles'] },
    pkce: { required: () => true },
    features: {
      devInteractions: { enabled: true },
      rpInitiatedLogout: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: (ctx, client, oneOf) => oneOf,
        useGrantedResource: () => true,
        getResourceServerInfo(ctx, indicator) {
          if (indicator !== config.audience) throw new errors.InvalidTarget();
          return {
            scope: 'api',
            audience: config.audience,
            accessTokenFormat: 'jwt',
            accessTokenTTL: 600,
            jwt: { sign: { alg: 'RS256' } },
          };
        },
      },
    },
    // the API needs to know who is calling and with which roles, without calling back here
    async extraTokenClaims(ctx, token) {
      const user = users[token.accountId];
      return user ? { ...emailClaims(token.accountId), roles: user.roles || [] } : undefined;
    },
    // the portal is this organisation's own application: no consent screen, as with a real
    // workforce provider; everything it asks for is granted
    async loadExistingGrant(ctx) {
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
      grant.addOIDCScope('openid email profile');
      grant.addResourceScope(config.audience, 'api');
      await grant.save();
      return grant;
    },
    ttl: { Session: 3600, Grant: 3600, Interaction: 600, IdToken: 600, AuthorizationCode: 60 },
    renderError(ctx, out) {
      ctx.type = 'html';
      const escape = (text) => String(text || '').replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
      ctx.body = `<!doctype html><title>Error</title><h1>${escape(out.error)}</h1><p>${escape(out.error_description)}</p>`;
    },
  });
  return provider;
}

let issuer;
let current;
let handle;
function serve(handler) {
  if (!config.tls) return createServer(handler);
  return createTlsServer({ cert: readFileSync(config.tls.cert), key: readFileSync(config.tls.key) }, handler);
}

const server = serve((req, res) => {
  if (req.method === 'POST' && req.url === '/test/keys') {
    let body = '';
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => {
      if (req.headers.authorization !== `Bearer ${config.control_token}`) {
        res.writeHead(403).end();
        return;
      }
      // a new Provider with the new keys; sessions and grants live in the shared in-memory store
      current = build(issuer, JSON.parse(body));
      handle = current.callback();
      res.writeHead(204).end();
    });
    return;
  }
  handle(req, res);
});

server.listen(config.port || 0, '127.0.0.1', () => {
  issuer = `${config.tls ? 'https' : 'http'}://127.0.0.1:${server.address().port}`;
  current = build(issuer, config.keys);
  handle = current.callback();
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
