// Verify credentials with the Digital Credentials Consortium's verifier-core (what the Learner
// Credential Wallet uses), as an outside verifier would:
//
//     node tests/verifier/verify.mjs credential.json [more.json ...]
//
// prints a JSON array with verifyCredential's result for each file, in order. The issuer
// registries are not consulted (knownDIDRegistries: []). Every fetch goes to the network as
// verifier-core makes it (did:web, the status list: the app under test, over HTTPS; a test CA
// comes in through NODE_EXTRA_CA_CERTS), except two kinds of address:
// - the Open Badges JSON schemas on purl.imsglobal.org, which verifier-core fetches to check the
//   credential's shape: answered from the schema pinned in tests/data/openbadges-3.0;
// - any host not in LCA_VERIFIER_HOSTS (comma-separated; default "localhost,127.0.0.1"):
//   refused, so that the tests never depend on a third-party host.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const schemaFile = join(here, '..', 'data', 'openbadges-3.0', 'achievementcredential.schema.json');
const pinnedSchema = readFileSync(schemaFile, 'utf8');
const SCHEMAS = new Set([
  // what verifier-core asks for an OpenBadgeCredential on VC 2.0 ...
  'https://purl.imsglobal.org/spec/ob/v3p0/schema/json/ob_v3p0_achievementcredential_schema.json',
  // ... and the $id of the file it is served as
  JSON.parse(pinnedSchema).$id,
]);
const allowedHosts = new Set(
  (process.env.LCA_VERIFIER_HOSTS || 'localhost,127.0.0.1').split(',').map(h => h.trim())
);
// every fetch: {url, status} as answered, {url, status, pinned: true} for a pinned schema,
// or {url, error} with the reason it failed (a TLS error's code, a refusal)
const fetched = [];
const realFetch = globalThis.fetch.bind(globalThis);
globalThis.fetch = async function fetch(input, init) {
  const url = typeof input === 'string' ? input : (input?.url ?? String(input));
  if (SCHEMAS.has(url)) {
    fetched.push({ url, status: 200, pinned: true });
    return new Response(pinnedSchema, {
      status: 200,
      headers: { 'content-type': 'application/schema+json' },
    });
  }
  if (url.startsWith('https://purl.imsglobal.org/') || !allowedHosts.has(new URL(url).hostname)) {
    fetched.push({ url, error: 'refused: not the app under test' });
    throw new TypeError(`verify.mjs refuses to fetch ${url} (not the app under test)`);
  }
  try {
    const response = await realFetch(input, init);
    fetched.push({ url, status: response.status });
    return response;
  } catch (error) {
    fetched.push({ url, error: error?.cause?.code || error?.cause?.message || error?.message });
    throw error;
  }
};

// imported only now, so that every fetch it makes goes through the function above
const { verifyCredential } = await import('@digitalcredentials/verifier-core');

function plain(value, seen = new WeakSet()) {
  if (value instanceof Error) {
    return { name: value.name, message: value.message, ...(value.cause && { cause: plain(value.cause, seen) }) };
  }
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return '[circular]';
  seen.add(value);
  if (Array.isArray(value)) return value.map(item => plain(item, seen));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v, seen)]));
}

const results = [];
for (const file of process.argv.slice(2)) {
  const credential = JSON.parse(readFileSync(file, 'utf8'));
  const started = fetched.length;
  const result = await verifyCredential({ credential, knownDIDRegistries: [] });
  results.push({ ...plain(result), fetched: fetched.slice(started) });
}
process.stdout.write(JSON.stringify(results) + '\n');
