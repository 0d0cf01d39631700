// The JSON-LD contexts that verifier-core's own document loader serves without fetching
// (@digitalcredentials/security-document-loader, remote contexts off), for each URL given:
//
//     node tests/verifier/contexts.mjs https://www.w3.org/ns/credentials/v2 [...]
//
// prints a JSON object {url: document, or null if it has none for that URL}.
import { securityLoader } from '@digitalcredentials/security-document-loader';

const load = securityLoader({ fetchRemoteContexts: false }).build();
const shipped = {};
for (const url of process.argv.slice(2)) {
  try {
    shipped[url] = (await load(url)).document;
  } catch {
    shipped[url] = null;
  }
}
process.stdout.write(JSON.stringify(shipped) + '\n');
