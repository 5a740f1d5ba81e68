#!/usr/bin/env python3
"""Drafts OpenAPI operations for routes openapi_iotsec reports UNDOCUMENTED, from what the e2e
suite recorded: the statuses seen, and request and response schemas inferred from the bodies
(types and the members every body had). A draft to edit (summaries, descriptions, what the
tests did not show), then paste under `paths:` of the face's document in docs/openapi.
usage: draft.py CAPTURE_DIR FACE 'METHOD /path/{param}'...
  CAPTURE_DIR: build/api-capture after `ctest -L e2e`."""
import collections
import glob
import json
import re
import sys

import yaml


def match(template, path):
    t, p = template.split('/')[1:], path.split('/')[1:]
    return len(t) == len(p) and all(a == b or (a.startswith('{') and b) for a, b in zip(t, p))


def infer(samples):
    by_type = collections.OrderedDict()
    for s in samples:
        by_type.setdefault(type(s).__name__, []).append(s)
    out, nullable = [], 'NoneType' in by_type
    for t, ss in by_type.items():
        if t == 'dict':
            props = collections.OrderedDict()
            for s in ss:
                for k, v in s.items():
                    props.setdefault(k, []).append(v)
            o = {'type': 'object', 'properties': {k: infer(v) for k, v in props.items()}}
            required = [k for k in props if all(k in s for s in ss)]
            if required:
                o['required'] = required
            out.append(o)
        elif t == 'list':
            items = [i for s in ss for i in s]
            out.append({'type': 'array', 'items': infer(items) if items else {}})
        elif t in ('str', 'bool', 'int', 'float'):
            out.append({'type': {'str': 'string', 'bool': 'boolean', 'int': 'integer',
                                 'float': 'number'}[t]})
    if sorted(o.get('type', '') for o in out) == ['integer', 'number']:
        out = [{'type': 'number'}]
    schema = out[0] if len(out) == 1 else ({'oneOf': out} if out else {})
    if nullable:
        schema['nullable'] = True
    return schema


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    capture, face, routes = sys.argv[1], sys.argv[2], sys.argv[3:]
    seen = collections.defaultdict(lambda: {'status': collections.defaultdict(list), 'req': {},
                                            'query': set()})
    for f in glob.glob(capture + '/*.jsonl'):
        for line in open(f, encoding='utf-8'):
            x = json.loads(line)
            if x.get('face') != face or x['status'] < 0:
                continue
            path, _, query = x['path'].partition('?')
            for r in routes:
                method, template = r.split(' ', 1)
                if method == x['method'] and match(template, path):
                    o = seen[r]
                    o['status'][x['status']].append((x.get('contentType') or '', x['body']))
                    o['query'].update(kv.split('=')[0] for kv in query.split('&') if kv)
                    if 200 <= x['status'] < 300 and x['requestBody'] is not None:
                        ct = (x.get('requestContentType') or 'application/json').split(';')[0]
                        o['req'].setdefault(ct, []).append(x['requestBody'])
    paths = collections.OrderedDict()
    for r in routes:
        method, template = r.split(' ', 1)
        o = seen.get(r)
        op = {'summary': 'TODO'}
        params = [{'name': n, 'in': 'path', 'required': True, 'schema': {'type': 'string'}}
                  for n in re.findall(r'\{(\w+)\}', template)]
        params += [{'name': n, 'in': 'query', 'schema': {'type': 'string'}}
                   for n in sorted(o['query'] if o else [])]
        if params:
            op['parameters'] = params
        responses = {}
        if o is None:
            print(f'# {r}: no exchange recorded', file=sys.stderr)
        else:
            if o['req']:
                op['requestBody'] = {'required': True, 'content': {
                    ct: {'schema': infer(b) if ct.endswith('json') else {'type': 'string'}}
                    for ct, b in o['req'].items()}}
            for status in sorted(o['status']):
                if status >= 400:
                    continue  # the errors: 'default' (ProblemDetails)
                bodies = [b for _, b in o['status'][status] if b is not None]
                ct = next((c for c, _ in o['status'][status] if c), 'application/json')
                responses[str(status)] = {'description': 'TODO'}
                if bodies:
                    responses[str(status)]['content'] = {ct.split(';')[0]: {'schema': infer(bodies)}}
        responses['default'] = {'$ref': '#/components/responses/Problem'}
        op['responses'] = responses
        paths.setdefault(template, {})[method.lower()] = op
    yaml.safe_dump(json.loads(json.dumps(paths)), sys.stdout, sort_keys=False, width=100)


main()
