#!/usr/bin/env node
// The one OpenAPI validator of the test suite: recorded JSON bodies or whole HTTP exchanges
// checked against OpenAPI 3.0 documents (the official 3GPP files and iotsec's own in
// docs/openapi) with a real JSON Schema validator (Ajv), cross-file $refs resolved.
//
// usage: validate.js [options]
//   --spec-dir DIR      where documents named by bare file name live (the 3GPP copy)
//   --load FILE         load a document (and, transitively, what it references) for --schema
//   Bodies mode: files <Name>-NNN.json, each one body
//   --bodies DIR        the recorded bodies
//   --schema NAME=REF   the schema of <NAME> bodies: FILE#/components/schemas/X; "[]REF" is a
//                       non-empty array of REF. A name NAMEList not given is an array of NAME.
//   --schemas-of FILE   any other <Name> is the schema Name of FILE
//   --require-all       every --schema name must have had a body
//   Exchanges mode: *.json (one exchange) or *.jsonl (one a line) written by tests/e2e/fixture.c:
//                       {face, method, path, status, contentType, location, requestContentType,
//                        requestBody, body}
//   --exchanges DIR     the recorded exchanges
//   --api [FACE:]FILE   a document serving exchanges of FACE (any face when omitted) under the
//                       path of its servers[0].url ("{apiRoot}/nausf-auth/v1" -> /nausf-auth/v1)
//   --only-documented   exchanges no --api document's prefix covers are skipped (the 3GPP
//                       tests), instead of being reported as undocumented routes
//   --min N             fail when fewer than N bodies / exchanges were checked
// For each exchange, success and error alike:
//   - the path and method are an operation of the document, or the answer is our router's 404
//     (no such path) or 405 (no such method), as a ProblemDetails; anything else is reported
//     as an UNDOCUMENTED route (listed together at the end, to be added to the document);
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

function usage(msg) {
  if (msg) console.error(`validate.js: ${msg}`);
  console.error('usage: validate.js [--spec-dir DIR] (--bodies DIR --schema NAME=REF... | ' +
                '--exchanges DIR --api [FACE:]FILE...) [--min N]');
  process.exit(2);
}

const opt = { specDir: '.', load: [], schemas: {}, apis: [], min: 0 };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const a = argv[i], v = () => (i + 1 < argv.length ? argv[++i] : usage(`${a} needs a value`));
  if (a === '--spec-dir') opt.specDir = v();
  else if (a === '--load') opt.load.push(v());
  else if (a === '--bodies') opt.bodies = v();
  else if (a === '--schema') {
    const [name, ref] = v().split(/=(.*)/s);
    opt.schemas[name] = ref;
  } else if (a === '--schemas-of') opt.schemasOf = v();
  else if (a === '--require-all') opt.requireAll = true;
  else if (a === '--exchanges') opt.exchanges = v();
  else if (a === '--api') {
    const s = v(), m = s.match(/^([a-z0-9_]+):(.*)$/);
    opt.apis.push(m ? { face: m[1], file: m[2] } : { face: null, file: s });
  } else if (a === '--only-documented') opt.onlyDocumented = true;
  else if (a === '--min') opt.min = Number(v());
  else usage(`unknown option ${a}`);
}
if (!opt.bodies === !opt.exchanges) usage('give --bodies or --exchanges');

// OpenAPI 3.0 schema objects are a dialect of JSON Schema draft 4/5: "example",
// "discriminator" and numeric formats are not JSON Schema ("nullable" Ajv knows); Ajv is told
// about them instead of being made lax about everything.
const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true });
addFormats(ajv);
for (const f of ['int32', 'int64', 'float', 'double', 'byte', 'binary', 'password'])
  ajv.addFormat(f, true);
for (const k of ['example', 'discriminator', 'xml', 'externalDocs']) ajv.addKeyword({ keyword: k });

// Every document under its file name as $id, so that 'TS29571_CommonData.yaml#/...' resolves;
// a bare name is looked for next to the document that names it, then in --spec-dir.
const docs = {};
function load(file, from) {
  const id = path.basename(file);
  if (docs[id]) return docs[id];
  let where = file;
  if (!fs.existsSync(where) && from) where = path.join(path.dirname(from), id);
  if (!fs.existsSync(where)) where = path.join(opt.specDir, id);
  const text = fs.readFileSync(where, 'utf8');
  const doc = yaml.load(text);
  docs[id] = doc;
  ajv.addSchema({ $id: id, components: { schemas: (doc.components || {}).schemas || {} } });
  for (const m of text.matchAll(/\$ref:\s*'?([A-Za-z0-9_]+\.yaml)#/g)) load(m[1], where);
  return doc;
}
for (const f of opt.load) load(f);

let checked = 0, failed = 0;
const seen = {};

// ---- bodies mode ----

function bodies() {
  const counts = {};
  const ofFile = opt.schemasOf ? path.basename(opt.schemasOf) : null;
  if (opt.schemasOf) load(opt.schemasOf);
  const schemaOf = (name) => {
    let ref = opt.schemas[name];
    if (ref === undefined && name.endsWith('List') && name !== 'List') {
      const item = schemaOf(name.slice(0, -4));
      return item && { type: 'array', items: item };
    }
    if (ref === undefined && ofFile && ((docs[ofFile].components || {}).schemas || {})[name])
      ref = `${ofFile}#/components/schemas/${name}`;
    if (ref === undefined) return null;
    if (ref.startsWith('[]')) return { type: 'array', minItems: 1, items: { $ref: ref.slice(2) } };
    return { $ref: ref };
  };
  for (const f of fs.readdirSync(opt.bodies).sort()) {
    const m = f.match(/^([A-Za-z]+)-\d+\.json$/);
    if (!m) continue;
    const schema = schemaOf(m[1]);
    if (!schema) {
      console.error(`${f}: no schema ${m[1]}`);
      failed++;
      continue;
    }
    const validate = ajv.compile(schema);
    const body = JSON.parse(fs.readFileSync(path.join(opt.bodies, f), 'utf8'));
    checked++;
    counts[m[1]] = (counts[m[1]] || 0) + 1;
    if (!validate(body)) {
      failed++;
      console.error(`${f}: does not validate against ${m[1]}:`);
      for (const e of validate.errors.slice(0, 10))
        console.error(`  ${e.instancePath || '/'} ${e.message} (${e.schemaPath})`);
    }
  }
  for (const need of opt.requireAll ? Object.keys(opt.schemas) : []) {
    if (!counts[need]) {
      console.error(`no ${need} body recorded`);
      failed++;
    }
  }
  console.error(`documents loaded: ${Object.keys(docs).length}; bodies by schema: ${JSON.stringify(counts)}`);
}

// ---- exchanges mode ----

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
    file = f ? path.basename(f) : file;
    obj = ptr.split('/').slice(1).reduce((o, k) => o && o[k.replace(/~1/g, '/').replace(/~0/g, '~')], docs[file] || load(f));
  }
  return [obj, file];
}

const compiled = new Map();
function validator(schema, file) {
  const key = file + JSON.stringify(schema);
  if (!compiled.has(key)) compiled.set(key, ajv.compile(absolute(schema, file)));
  return compiled.get(key);
}

// The path template of doc matching rel ('/imsi-1/auth-events'); literals win over parameters.
function findTemplate(doc, rel) {
  const segs = rel.split('/').slice(1);
  let best = null, bestScore = -1;
  for (const tpl of Object.keys(doc.paths || {})) {
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

function fail(f, x, msg, errors) {
  failed++;
  console.error(`${f}: ${x.face ? x.face + ' ' : ''}${x.method} ${x.path} -> ${x.status}: ${msg}`);
  for (const e of (errors || []).slice(0, 8)) console.error(`    ${e.instancePath || '/'} ${e.message} (${e.schemaPath})`);
}

function exchanges() {
  // Each API's prefix: the path of its servers[0].url, '' when it has none.
  const apis = opt.apis.map((a) => {
    const doc = load(a.file);
    const url = ((doc.servers || [])[0] || {}).url || '';
    const prefix = url.replace(/^\{apiRoot\}/, '').replace(/^[a-z]+:\/\/[^/]*/, '').replace(/\/$/, '');
    return { ...a, id: path.basename(a.file), doc, prefix };
  });
  // The ProblemDetails of the router's own 404/405: the first document that has one.
  let problem = null;
  for (const d of Object.keys(docs)) {
    if (((docs[d].components || {}).schemas || {}).ProblemDetails) {
      problem = ajv.getSchema(`${d}#/components/schemas/ProblemDetails`);
      if (/CommonData/.test(d)) break;
    }
  }
  const checkProblem = (f, x) => {
    if (mediaType(x.contentType) !== 'application/problem+json')
      return fail(f, x, `media type ${x.contentType}, expected application/problem+json`);
    if (problem && !problem(x.body)) return fail(f, x, 'not a ProblemDetails', problem.errors);
    if (x.body && x.body.status !== x.status) fail(f, x, `ProblemDetails.status ${x.body.status}`);
  };
  const undocumented = {};

  const check = (f, x) => {
    if (x.status < 0) return; // no answer (e.g. a refused handshake): nothing to validate
    const p = x.path.split('?')[0];
    // The longest prefix of an API of this face wins; then the first with the path.
    const candidates = apis
      .filter((a) => (!a.face || !x.face || a.face === x.face) && (p === a.prefix || p.startsWith(a.prefix + '/')))
      .sort((a, b) => b.prefix.length - a.prefix.length);
    if (!candidates.length && opt.onlyDocumented) return;
    let api = candidates[0], tpl = null;
    for (const a of candidates) {
      const t = findTemplate(a.doc, p.slice(a.prefix.length) || '/');
      if (t) {
        [api, tpl] = [a, t];
        break;
      }
    }
    checked++;
    const op = tpl && api.doc.paths[tpl][x.method.toLowerCase()];
    const key = `${x.face ? x.face + ' ' : ''}${x.method} ${api ? api.prefix : ''}${tpl || '(no such path)'} ${x.status}`;
    seen[key] = (seen[key] || 0) + 1;
    if (x.method === 'HEAD') return; // no HEAD in the documents: the router's, tested in e2e
    if (!tpl) {
      if (x.status === 404) return checkProblem(f, x);
      undocumented[`${x.face || ''} ${x.method} ${p}`] = x.status;
      return fail(f, x, 'UNDOCUMENTED route (no document has this path)');
    }
    if (!op) {
      if (x.status === 405) return checkProblem(f, x);
      undocumented[`${x.face || ''} ${x.method} ${api.prefix}${tpl}`] = x.status;
      return fail(f, x, `UNDOCUMENTED route (${tpl} has no ${x.method} in ${api.id})`);
    }
    // "default" stands for the errors an operation may answer, never for a success.
    const listed = op.responses[String(x.status)] || (x.status >= 400 ? op.responses.default : undefined);
    const [resp, respFile] = deref(listed, api.id);
    if (!resp)
      return fail(f, x, `status not documented in ${api.id} for ${x.method} ${tpl} (documented: ${Object.keys(op.responses)})`);
    if (resp.content) {
      const mt = mediaType(x.contentType);
      const media = Object.keys(resp.content).find((k) => k.toLowerCase() === mt);
      if (!media) {
        fail(f, x, `media type ${x.contentType}, documented: ${Object.keys(resp.content)}`);
      } else if (resp.content[media].schema) {
        const v = validator(resp.content[media].schema, respFile);
        if (!v(x.body)) fail(f, x, `body does not validate (${media})`, v.errors);
      }
    } else if (x.body !== null && x.body !== '') {
      fail(f, x, 'a body where the documented status has none');
    }
    for (const [name, h] of Object.entries(resp.headers || {}))
      if (h.required && name.toLowerCase() === 'location' && x.location === '') fail(f, x, 'no Location');
    if (x.status >= 200 && x.status < 300 && op.requestBody && x.requestBody !== null) {
      const [rb, rbFile] = deref(op.requestBody, api.id);
      const mt = mediaType(x.requestContentType);
      const media = Object.keys(rb.content).find((k) => k.toLowerCase() === mt);
      if (!media) {
        fail(f, x, `accepted a request of media type ${x.requestContentType}, documented: ${Object.keys(rb.content)}`);
      } else if (rb.content[media].schema) {
        const v = validator(rb.content[media].schema, rbFile);
        const body = media === 'application/x-www-form-urlencoded' && typeof x.requestBody === 'string'
          ? Object.fromEntries(new URLSearchParams(x.requestBody)) : x.requestBody;
        if (!v(body)) fail(f, x, 'accepted a request body that does not validate', v.errors);
      }
    } else if (x.status >= 200 && x.status < 300 && !op.requestBody && x.requestBody !== null &&
               x.requestBody !== '' && !['GET', 'DELETE'].includes(x.method)) {
      fail(f, x, 'accepted a request body the operation does not document');
    }
  };

  for (const f of fs.readdirSync(opt.exchanges).sort()) {
    const file = path.join(opt.exchanges, f);
    if (f.endsWith('.json')) check(f, JSON.parse(fs.readFileSync(file, 'utf8')));
    else if (f.endsWith('.jsonl'))
      fs.readFileSync(file, 'utf8').split('\n').forEach((line, i) => line && check(`${f}:${i + 1}`, JSON.parse(line)));
  }
  console.error(`documents loaded: ${Object.keys(docs).length}; exchanges by operation and status:`);
  for (const k of Object.keys(seen).sort()) console.error(`  ${k}: ${seen[k]}`);
  const u = Object.keys(undocumented).sort();
  if (u.length) {
    console.error(`UNDOCUMENTED routes (${u.length}): add them to the documents (docs/openapi; tests/openapi/draft.py CAPTURE FACE "METHOD /path" drafts them from the capture):`);
    for (const k of u) console.error(`  ${k} (answered ${undocumented[k]})`);
  }
}

if (opt.bodies) bodies();
else exchanges();
if (checked < opt.min) {
  console.error(`only ${checked} recorded, expected at least ${opt.min}`);
  failed++;
}
console.log(`openapi: ${checked} checked, ${failed} failures`);
process.exit(failed ? 1 : 0);
