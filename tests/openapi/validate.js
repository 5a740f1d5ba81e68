#!/usr/bin/env node
// Validates JSON bodies recorded by tests/e2e/test_t8_monitoring (IOTSEC_T8_DUMP=DIR) against
// the official 3GPP OpenAPI schemas, with a real JSON Schema validator (Ajv) and the
// cross-file $refs of the 3GPP documents resolved.
//   usage: validate.js SPEC_DIR BODY_DIR [MIN_FILES]
// A body file is named <Schema>-NNN.json; <Schema> is a schema of TS29122_MonitoringEvent.yaml,
// "ProblemDetails" (TS29122_CommonData.yaml), or "<Schema>List" (an array of <Schema>).
'use strict';
const fs = require('fs');
const path = require('path');
const yaml = require('js-yaml');
const Ajv = require('ajv');
const addFormats = require('ajv-formats');

const [specDir, bodyDir, minFiles] = process.argv.slice(2);
if (!specDir || !bodyDir) {
  console.error('usage: validate.js SPEC_DIR BODY_DIR [MIN_FILES]');
  process.exit(2);
}

// OpenAPI 3.0 schema objects are a dialect of JSON Schema draft 4/5: "example",
// "discriminator" and numeric formats are not JSON Schema ("nullable" Ajv knows); Ajv is told
// about them instead of being made lax about everything.
const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true });
addFormats(ajv);
for (const f of ['int32', 'int64', 'float', 'double', 'byte', 'binary', 'password'])
  ajv.addFormat(f, true);
ajv.addKeyword({ keyword: 'example' });
ajv.addKeyword({ keyword: 'discriminator' });
ajv.addKeyword({ keyword: 'xml' });
ajv.addKeyword({ keyword: 'externalDocs' });

// Load the main document and every document it references, transitively, each under its file
// name as $id so that 'TS29571_CommonData.yaml#/components/schemas/Tai' resolves.
const loaded = new Set();
function load(file) {
  if (loaded.has(file)) return;
  loaded.add(file);
  const text = fs.readFileSync(path.join(specDir, file), 'utf8');
  const doc = yaml.load(text);
  ajv.addSchema({ $id: file, components: { schemas: (doc.components || {}).schemas || {} } });
  for (const m of text.matchAll(/\$ref:\s*'?([A-Za-z0-9_]+\.yaml)#/g)) load(m[1]);
}
load('TS29122_MonitoringEvent.yaml');
load('TS29122_CommonData.yaml');

function schemaRef(name) {
  if (name === 'ProblemDetails') return 'TS29122_CommonData.yaml#/components/schemas/ProblemDetails';
  return `TS29122_MonitoringEvent.yaml#/components/schemas/${name}`;
}

let checked = 0, failed = 0;
const counts = {};
for (const f of fs.readdirSync(bodyDir).sort()) {
  const m = f.match(/^([A-Za-z]+?)(List)?-\d+\.json$/);
  if (!m) continue;
  const name = m[1];
  const body = JSON.parse(fs.readFileSync(path.join(bodyDir, f), 'utf8'));
  const validate = m[2] ? ajv.compile({ type: 'array', items: { $ref: schemaRef(name) } })
                        : ajv.getSchema(schemaRef(name));
  if (!validate) {
    console.error(`${f}: no schema ${name}`);
    failed++;
    continue;
  }
  checked++;
  counts[name + (m[2] || '')] = (counts[name + (m[2] || '')] || 0) + 1;
  if (!validate(body)) {
    failed++;
    console.error(`${f}: does not validate against ${name}${m[2] ? '[]' : ''}:`);
    for (const e of validate.errors.slice(0, 10))
      console.error(`  ${e.instancePath || '/'} ${e.message} (${e.schemaPath})`);
  }
}
console.error(`schemas loaded from ${loaded.size} documents; bodies by schema: ${JSON.stringify(counts)}`);
if (minFiles && checked < Number(minFiles)) {
  console.error(`only ${checked} bodies recorded, expected at least ${minFiles}`);
  failed++;
}
console.log(`openapi: ${checked - Math.min(failed, checked)} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
