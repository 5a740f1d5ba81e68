#!/usr/bin/env node
// Validates every SBI exchange recorded by the e2e tests (IOTSEC_SBI_DUMP=DIR, written by
// tests/e2e/fixture.c) against the official documents: TS29509_Nausf_UEAuthentication.yaml and
// TS29503_Nudm_UEAU.yaml, with their cross-file $refs resolved (Ajv).
//   usage: validate_sbi.js SPEC_DIR DUMP_DIR [MIN_EXCHANGES]
// For each exchange, success and error alike:
//   - the path and method are an operation of the document, or the answer is our router's 404
//     (no such path) or 405 (no such method), as a ProblemDetails;
//   - the status is one the operation lists (or its "default");
//   - the response's media type is one the status lists, and its body validates against that
//     schema; a status without content has no body; a required Location header is present;
//   - a request that succeeded (2xx) had a media type and a body the operation accepts.
'use strict';
const fs = require('fs');
const path = require('path');
const yaml = require('js-yaml');
const Ajv = require('ajv');
const addFormats = require('ajv-formats');

const [specDir, dumpDir, minExchanges] = process.argv.slice(2);
if (!specDir || !dumpDir) {
  console.error('usage: validate_sbi.js SPEC_DIR DUMP_DIR [MIN_EXCHANGES]');
  process.exit(2);
}

// OpenAPI 3.0 schema objects as JSON Schema (see validate.js for why these keywords).
const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true });
addFormats(ajv);
for (const f of ['int32', 'int64', 'float', 'double', 'byte', 'binary', 'password'])
  ajv.addFormat(f, true);
for (const k of ['example', 'discriminator', 'xml', 'externalDocs']) ajv.addKeyword({ keyword: k });

const docs = {};
function load(file) {
  if (docs[file]) return docs[file];
  const text = fs.readFileSync(path.join(specDir, file), 'utf8');
  const doc = yaml.load(text);
  docs[file] = doc;
  ajv.addSchema({ $id: file, components: { schemas: (doc.components || {}).schemas || {} } });
  for (const m of text.matchAll(/\$ref:\s*'?([A-Za-z0-9_]+\.yaml)#/g)) load(m[1]);
  return doc;
}
const apis = [
  { prefix: '/nausf-auth/v1', file: 'TS29509_Nausf_UEAuthentication.yaml' },
  { prefix: '/nudm-ueau/v1', file: 'TS29503_Nudm_UEAU.yaml' },
];
for (const a of apis) load(a.file);
load('TS29571_CommonData.yaml');

// A local '#/...' reference made absolute against the document it appears in.
function absolute(node, file) {
  if (Array.isArray(node)) return node.map((n) => absolute(n, file));
  if (node && typeof node === 'object') {
    const out = {};
    for (const [k, v] of Object.entries(node))
      out[k] = k === '$ref' && typeof v === 'string' && v.startsWith('#') ? file + v : absolute(v, file);
    return out;
  }
  return node;
}

// Follows a $ref to a response or request body object: [object, the file it lives in].
function deref(obj, file) {
  while (obj && obj.$ref) {
    const [f, ptr] = obj.$ref.split('#');
    file = f || file;
    obj = ptr.split('/').slice(1).reduce((o, k) => o && o[k.replace(/~1/g, '/').replace(/~0/g, '~')], load(file));
  }
  return [obj, file];
}

const compiled = new Map();
function validator(schema, file) {
  const key = file + JSON.stringify(schema);
  if (!compiled.has(key)) compiled.set(key, ajv.compile(absolute(schema, file)));
  return compiled.get(key);
}
const problemDetails = ajv.getSchema('TS29571_CommonData.yaml#/components/schemas/ProblemDetails');

// The path template of doc matching rel ('/imsi-1/auth-events'); literals win over parameters.
function findTemplate(doc, rel) {
  const segs = rel.split('/').slice(1);
  let best = null, bestScore = -1;
  for (const tpl of Object.keys(doc.paths)) {
    const t = tpl.split('/').slice(1);
    if (t.length !== segs.length) continue;
    let ok = true, score = 0;
    for (let i = 0; i < t.length && ok; i++) {
      if (/^\{.*\}$/.test(t[i])) ok = segs[i].length > 0;
      else if (t[i] === segs[i]) score++;
      else ok = false;
    }
    if (ok && score > bestScore) [best, bestScore] = [tpl, score];
  }
  return best;
}

const mediaType = (ct) => (ct || '').split(';')[0].trim().toLowerCase();
let checked = 0, failed = 0;
const seen = {};
function fail(f, x, msg, errors) {
  failed++;
  console.error(`${f}: ${x.method} ${x.path} -> ${x.status}: ${msg}`);
  for (const e of (errors || []).slice(0, 8)) console.error(`    ${e.instancePath || '/'} ${e.message} (${e.schemaPath})`);
}

function checkProblem(f, x) {
  if (mediaType(x.contentType) !== 'application/problem+json')
    return fail(f, x, `media type ${x.contentType}, expected application/problem+json`);
  if (!problemDetails(x.body)) return fail(f, x, 'not a ProblemDetails', problemDetails.errors);
  if (x.body.status !== x.status) fail(f, x, `ProblemDetails.status ${x.body.status}`);
}

for (const f of fs.readdirSync(dumpDir).filter((n) => n.endsWith('.json')).sort()) {
  const x = JSON.parse(fs.readFileSync(path.join(dumpDir, f), 'utf8'));
  if (x.status < 0) continue; // no answer (e.g. a refused handshake): nothing to validate
  checked++;
  const api = apis.find((a) => x.path.startsWith(a.prefix + '/'));
  const rel = x.path.slice(api.prefix.length).split('?')[0];
  const doc = docs[api.file];
  const tpl = findTemplate(doc, rel);
  const op = tpl && doc.paths[tpl][x.method.toLowerCase()];
  const key = `${x.method} ${api.prefix}${tpl || '(no such path)'} ${x.status}`;
  seen[key] = (seen[key] || 0) + 1;
  if (x.method === 'HEAD') continue; // no HEAD in the documents: the router's, tested in e2e
  if (!tpl) {
    if (x.status !== 404) fail(f, x, 'a path the API does not have, answered other than 404');
    else checkProblem(f, x);
    continue;
  }
  if (!op) {
    if (x.status !== 405) fail(f, x, `${tpl} has no ${x.method}: expected 405`);
    else checkProblem(f, x);
    continue;
  }
  const [resp, respFile] = deref(op.responses[String(x.status)] || op.responses.default, api.file);
  if (!resp) {
    fail(f, x, `status not allowed by ${tpl} ${x.method} (allowed: ${Object.keys(op.responses)})`);
    continue;
  }
  if (resp.content) {
    const mt = mediaType(x.contentType);
    const media = Object.keys(resp.content).find((k) => k.toLowerCase() === mt);
    if (!media) {
      fail(f, x, `media type ${x.contentType}, allowed: ${Object.keys(resp.content)}`);
    } else {
      const v = validator(resp.content[media].schema, respFile);
      if (!v(x.body)) fail(f, x, `body does not validate (${media})`, v.errors);
    }
  } else if (x.body !== null) {
    fail(f, x, 'a body where the status has none');
  }
  for (const [name, h] of Object.entries(resp.headers || {}))
    if (h.required && name.toLowerCase() === 'location' && !x.location) fail(f, x, 'no Location');
  if (x.status >= 200 && x.status < 300 && op.requestBody) {
    const [rb, rbFile] = deref(op.requestBody, api.file);
    const mt = mediaType(x.requestContentType);
    const media = Object.keys(rb.content).find((k) => k.toLowerCase() === mt);
    if (!media) {
      fail(f, x, `accepted a request of media type ${x.requestContentType}, allowed: ${Object.keys(rb.content)}`);
    } else {
      const v = validator(rb.content[media].schema, rbFile);
      if (!v(x.requestBody)) fail(f, x, 'accepted a request body that does not validate', v.errors);
    }
  }
}
console.error(`documents loaded: ${Object.keys(docs).length}; exchanges by operation and status:`);
for (const k of Object.keys(seen).sort()) console.error(`  ${k}: ${seen[k]}`);
if (minExchanges && checked < Number(minExchanges)) {
  console.error(`only ${checked} exchanges recorded, expected at least ${minExchanges}`);
  failed++;
}
console.log(`openapi_sbi: ${checked} exchanges checked, ${failed} failures`);
process.exit(failed ? 1 : 0);
