#!/usr/bin/env node
// Validates the bodies tests/e2e/test_group_delivery records (IOTSEC_GROUP_DUMP=DIR) against
// the official TS 29.522 MBSGroupMsgDelivery OpenAPI document with Ajv, the cross-file $refs
// resolved, as validate.js does for T8: MbsGroupMsgDel-NNN.json (the AF's requests and the
// northbound face's answers: 201 and GET), MbsGroupMsgDelStatusNotif-NNN.json (the status
// notification sent to notifUri) and ProblemDetails-NNN.json (its refusals).
//   usage: validate_group.js SPEC_DIR BODY_DIR [MIN_FILES]
'use strict';
const fs = require('fs');
const path = require('path');
const yaml = require('js-yaml');
const Ajv = require('ajv');
const addFormats = require('ajv-formats');

const [specDir, bodyDir, minFiles] = process.argv.slice(2);
if (!specDir || !bodyDir) {
  console.error('usage: validate_group.js SPEC_DIR BODY_DIR [MIN_FILES]');
  process.exit(2);
}
const ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true });
addFormats(ajv);
for (const f of ['int32', 'int64', 'float', 'double', 'byte', 'binary', 'password'])
  ajv.addFormat(f, true);
for (const k of ['example', 'discriminator', 'xml', 'externalDocs']) ajv.addKeyword({ keyword: k });

const loaded = new Set();
function load(file) {
  if (loaded.has(file)) return;
  loaded.add(file);
  const text = fs.readFileSync(path.join(specDir, file), 'utf8');
  const doc = yaml.load(text);
  ajv.addSchema({ $id: file, components: { schemas: (doc.components || {}).schemas || {} } });
  for (const m of text.matchAll(/\$ref:\s*'?([A-Za-z0-9_]+\.yaml)#/g)) load(m[1]);
}
const MBS = 'TS29522_MBSGroupMsgDelivery.yaml';
load(MBS);
load('TS29122_CommonData.yaml');
const schemas = {
  MbsGroupMsgDel: { $ref: `${MBS}#/components/schemas/MbsGroupMsgDel` },
  MbsGroupMsgDelStatusNotif: { $ref: `${MBS}#/components/schemas/MbsGroupMsgDelStatusNotif` },
  ProblemDetails: { $ref: 'TS29122_CommonData.yaml#/components/schemas/ProblemDetails' },
};

let checked = 0, failed = 0;
const counts = {};
for (const f of fs.readdirSync(bodyDir).sort()) {
  const m = f.match(/^([A-Za-z]+)-\d+\.json$/);
  if (!m) continue;
  if (!schemas[m[1]]) {
    console.error(`${f}: no schema ${m[1]}`);
    failed++;
    continue;
  }
  const validate = ajv.compile(schemas[m[1]]);
  const body = JSON.parse(fs.readFileSync(path.join(bodyDir, f), 'utf8'));
  checked++;
  counts[m[1]] = (counts[m[1]] || 0) + 1;
  if (!validate(body)) {
    failed++;
    console.error(`${f}: does not validate against ${m[1]}:`);
    for (const e of validate.errors.slice(0, 10))
      console.error(`  ${e.instancePath || '/'} ${e.message} (${e.schemaPath})`);
  }
}
for (const need of Object.keys(schemas)) {
  if (!counts[need]) {
    console.error(`no ${need} body recorded`);
    failed++;
  }
}
console.error(`schemas loaded from ${loaded.size} documents; bodies by schema: ${JSON.stringify(counts)}`);
if (minFiles && checked < Number(minFiles)) {
  console.error(`only ${checked} bodies recorded, expected at least ${minFiles}`);
  failed++;
}
console.log(`openapi: ${checked - Math.min(failed, checked)} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
