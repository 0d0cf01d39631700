// Canonicalise JSON-LD documents with jsonld.js in safe mode (RDFC-1.0, N-Quads), with only
// the contexts pinned in lca/certificates/contexts (the same files LCA's own proof uses):
//
//     node tests/verifier/canonize.mjs document.json [more.json ...]
//
// prints a JSON array with, for each file in order, {"nquads": "..."} or {"error": {...}}
// (safe mode refuses a term that no context defines, a relative IRI, ...). Any other context
// URL is refused; nothing is fetched. Exits 1 if any document failed.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import jsonld from 'jsonld';

const here = dirname(fileURLToPath(import.meta.url));
const contexts = join(here, '..', '..', 'lca', 'certificates', 'contexts');
// the canonical URLs and files, as in PINNED_CONTEXTS of lca/certificates/data_integrity.py
const PINNED = {
  'https://www.w3.org/ns/credentials/v2': 'credentials-v2.jsonld',
  'https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json': 'ob-v3p0-context-3.0.3.json',
  'https://www.w3.org/ns/did/v1': 'did-v1.jsonld',
  'https://w3id.org/security/multikey/v1': 'multikey-v1.jsonld',
  'https://w3id.org/security/data-integrity/v2': 'data-integrity-v2.jsonld',
};

async function documentLoader(url) {
  const file = PINNED[url.split('#')[0]];
  if (!file) {
    throw new Error(`canonize.mjs: context not pinned (never fetched): ${url}`);
  }
  return {
    contextUrl: null,
    documentUrl: url,
    document: JSON.parse(readFileSync(join(contexts, file), 'utf8')),
  };
}

function describe(error) {
  return {
    name: error?.name,
    message: error?.message,
    ...(error?.details?.event && { event: error.details.event }),
    ...((error?.cause || error?.details?.cause) && {
      cause: describe(error.cause || error.details.cause),
    }),
  };
}

const results = [];
let failed = false;
for (const file of process.argv.slice(2)) {
  const document = JSON.parse(readFileSync(file, 'utf8'));
  try {
    const nquads = await jsonld.canonize(document, {
      algorithm: 'RDFC-1.0',
      format: 'application/n-quads',
      safe: true,
      documentLoader,
    });
    results.push({ nquads });
  } catch (error) {
    failed = true;
    results.push({ error: describe(error) });
  }
}
process.stdout.write(JSON.stringify(results) + '\n');
process.exitCode = failed ? 1 : 0;
