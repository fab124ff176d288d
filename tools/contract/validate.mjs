// Checks recorded HTTP exchanges against docs/openapi.yaml (the contract tests).
//
//   node validate.mjs <openapi.yaml> <exchanges.jsonl>
//
// Each line of the log is either an exchange written by the test HTTP client (tests/http/client.h:
// {"method","target","status","content_type","response_body"|"response_bytes",...}) or the
// server's route table ({"route_table": [{"method","pattern"}, ...]}, tests/e2e/contract_e2e_test.cpp).
// For each exchange: the path and method exist in the document (a path that matches no route must
// answer 404 not_found; a known path with another method 405 method_not_allowed), the status is
// documented for the operation (or is one of the answers any route may give: 405, 413, 431, 500,
// 503 — info.description), the content type is documented for that status, and a JSON body is valid
// against its schema. Response objects are closed unless their schema says additionalProperties.
// The route table and the document's paths must name the same (method, path) pairs.
// Every failure names the exchange, the operation and the JSON pointer of the mismatch; exit 1.
import fs from 'node:fs';
import YAML from 'yaml';
import Ajv from 'ajv';
import addFormats from 'ajv-formats';

const [docPath, logPath] = process.argv.slice(2);
if (!docPath || !logPath) {
  console.error('usage: node validate.mjs <openapi.yaml> <exchanges.jsonl>');
  process.exit(2);
}
const doc = YAML.parse(fs.readFileSync(docPath, 'utf8'));
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace'];
// The answers any route may give, and the response under components/responses that describes each.
const GLOBAL = { 405: 'MethodNotAllowed', 413: 'PayloadTooLarge', 431: 'HeadersTooLarge', 500: 'Internal', 503: 'Unavailable' };
const DOC_ID = 'openapi.json';

// ---- schemas: refs point into the document; response objects are closed by default
function prepare(node) {
  if (Array.isArray(node)) return node.map(prepare);
  if (node === null || typeof node !== 'object') return node;
  const out = {};
  for (const [k, v] of Object.entries(node)) {
    out[k] = k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? DOC_ID + v : prepare(v);
  }
  if (out.properties && typeof out.properties === 'object' && !('additionalProperties' in out) &&
      !out.oneOf && !out.anyOf && !out.allOf) {
    out.additionalProperties = false;
  }
  return out;
}
const ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false, discriminator: false });
addFormats(ajv);
ajv.addFormat('binary', true);
const prepared = prepare(doc);
ajv.addSchema({ $id: DOC_ID, components: prepared.components ?? {} });
const compiled = new Map();
function validatorFor(key, schema) {
  if (!compiled.has(key)) compiled.set(key, ajv.compile(prepare(schema)));
  return compiled.get(key);
}

function resolve(obj) {  // a Response Object that may be a $ref
  let seen = 0;
  while (obj && obj.$ref && seen++ < 10) {
    obj = obj.$ref.slice(2).split('/').reduce((o, k) => o?.[k.replace(/~1/g, '/').replace(/~0/g, '~')], doc);
  }
  return obj;
}

// ---- paths: "/crl/{kind}.crl" -> segment matchers; literal segments beat parameter segments
function segmentsOf(path) {
  return path.split('/').slice(1).map((s) => (s.includes('{')
    ? { param: true, re: new RegExp('^' + s.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+') + '$') }
    : { param: false, text: s }));
}
const docPaths = Object.entries(doc.paths ?? {}).map(([path, item]) => ({
  path, item, segs: segmentsOf(path), rest: item['x-rest-parameter'] !== undefined,
}));
function matchPath(rawPath) {
  const parts = rawPath.split('/').slice(1);
  const candidates = docPaths.filter(({ segs, rest }) => {
    if (rest ? parts.length < segs.length : parts.length !== segs.length) return false;
    return segs.every((s, i) => {
      if (rest && i === segs.length - 1) return parts.slice(i).join('/') !== '';  // the rest of the path
      return s.param ? s.re.test(parts[i]) : s.text === safeDecode(parts[i]);
    });
  });
  candidates.sort((a, b) => {
    for (let i = 0; i < Math.min(a.segs.length, b.segs.length); ++i) {
      if (a.segs[i].param !== b.segs[i].param) return a.segs[i].param ? 1 : -1;
    }
    return 0;
  });
  return candidates[0];
}
function safeDecode(s) {
  try { return decodeURIComponent(s); } catch { return s; }
}

// ---- checking
const failures = [];
const covered = new Set();  // "GET /path 200"
let exchanges = 0;
let routeTable = null;

function check(x, where) {
  let target = x.target;
  const abs = /^https?:\/\/[^/]*/.exec(target);
  if (abs) target = target.slice(abs[0].length) || '/';
  const rawPath = target.split(/[?#]/)[0];
  const fail = (pointer, message) => failures.push(`${where}: ${x.method} ${x.target} -> ${x.status}` +
    ` (${x.content_type || 'no content type'}): ${pointer ? pointer + ' ' : ''}${message}`);

  const path = rawPath.startsWith('/') ? matchPath(rawPath) : undefined;
  let response;
  let opName;
  if (!path) {
    if (x.status === 400) {  // a target the server could not parse (no route was looked up)
      response = doc.components?.responses?.InvalidArgument;
      opName = '(malformed target)';
    } else if (x.status === 404 || GLOBAL[x.status]) {
      response = x.status === 404 ? doc.components?.responses?.NotFound : doc.components?.responses?.[GLOBAL[x.status]];
      opName = '(no route)';
    } else {
      return fail('', `no path of the document matches '${rawPath}'`);
    }
  } else {
    const op = path.item[x.method.toLowerCase()];
    opName = `${x.method} ${path.path}`;
    if (!op) {
      if (x.status !== 405 && !(GLOBAL[x.status] && x.status !== 405) && x.status !== 400) {
        return fail('', `the document has no ${x.method} for ${path.path}, and the answer is not 405`);
      }
      response = x.status === 400 ? doc.components?.responses?.InvalidArgument
                                  : doc.components?.responses?.[GLOBAL[x.status]];
    } else {
      response = op.responses?.[String(x.status)] ?? op.responses?.[`${String(x.status)[0]}XX`];
      if (!response && GLOBAL[x.status]) response = doc.components?.responses?.[GLOBAL[x.status]];
      if (!response) {
        return fail('', `status ${x.status} is not documented for ${opName} (documented: ` +
          `${Object.keys(op.responses ?? {}).join(', ')})`);
      }
    }
  }
  response = resolve(response);
  covered.add(`${opName} ${x.status}`);
  const content = response?.content;
  const hasBody = x.response_bytes > 0 || (x.response_body ?? '') !== '';
  if (!content || Object.keys(content).length === 0) {
    if (hasBody) fail('', `${opName} ${x.status} documents no body, but one was answered`);
    return;
  }
  const ct = (x.content_type ?? '').trim();
  const bare = (t) => t.split(';')[0].trim().toLowerCase();
  const mediaKey = Object.keys(content).find((k) => k.toLowerCase() === ct.toLowerCase()) ??
    Object.keys(content).find((k) => bare(k) === bare(ct));
  if (!mediaKey) {
    return fail('', `content type '${ct}' is not documented for ${opName} ${x.status} ` +
      `(documented: ${Object.keys(content).join(', ')})`);
  }
  const media = content[mediaKey];
  if (!/json/.test(bare(mediaKey)) || !media?.schema) return;  // binary and text: the content type is the check
  let body;
  try {
    body = JSON.parse(x.response_body ?? '');
  } catch (e) {
    return fail('', `the body is not JSON: ${e.message}`);
  }
  const validate = validatorFor(`${opName} ${x.status} ${mediaKey}`, media.schema);
  if (!validate(body)) {
    for (const e of validate.errors) {
      const extra = e.params?.additionalProperty !== undefined ? ` '${e.params.additionalProperty}'` :
        e.params?.allowedValues ? ` ${JSON.stringify(e.params.allowedValues)}` : '';
      fail(e.instancePath || '/', `${e.message}${extra} (schema ${e.schemaPath}; ${opName} ${x.status})`);
    }
  }
}

if (!fs.existsSync(logPath)) {
  console.error(`contract: ${logPath} does not exist: no exchanges were recorded (run the e2e tests with JLIS_CONTRACT_LOG)`);
  process.exit(1);
}
const lines = fs.readFileSync(logPath, 'utf8').split('\n');
lines.forEach((line, i) => {
  if (!line.trim()) return;
  let x;
  try {
    x = JSON.parse(line);
  } catch (e) {
    failures.push(`${logPath}:${i + 1}: not JSON: ${e.message}`);
    return;
  }
  if (x.route_table) {
    routeTable = x.route_table;
    return;
  }
  ++exchanges;
  check(x, `${logPath}:${i + 1}`);
});

// ---- the route table and the document name the same routes
const norm = (p) => p.replace(/\{[^}]*\}[^/]*/g, '{}');
if (routeTable === null) {
  failures.push('no route table in the log (tests/e2e/contract_e2e_test.cpp writes it)');
} else {
  const served = new Set(routeTable.map((r) => `${r.method.toUpperCase()} ${norm(r.pattern)}`));
  const documented = new Map();
  for (const { path, item } of docPaths) {
    for (const m of METHODS) if (item[m]) documented.set(`${m.toUpperCase()} ${norm(path)}`, `${m.toUpperCase()} ${path}`);
  }
  for (const r of routeTable) {
    if (!documented.has(`${r.method.toUpperCase()} ${norm(r.pattern)}`)) {
      failures.push(`route table: ${r.method} ${r.pattern} is served but not in ${docPath}`);
    }
  }
  for (const [key, name] of documented) {
    if (!served.has(key)) failures.push(`route table: ${name} is in ${docPath} but the server has no such route`);
  }
}
if (exchanges === 0) failures.push(`${logPath}: no exchanges recorded`);

// ---- report
const operations = [];
for (const { path, item } of docPaths) {
  for (const m of METHODS) if (item[m]) operations.push(`${m.toUpperCase()} ${path}`);
}
const untested = operations.filter((op) => ![...covered].some((c) => c.startsWith(op + ' ')));
console.log(`contract: ${exchanges} exchanges, ${covered.size} (operation, status) pairs seen, ` +
  `${operations.length - untested.length}/${operations.length} operations exercised`);
for (const op of untested) console.log(`  not exercised: ${op}`);
if (failures.length) {
  console.error(`contract: ${failures.length} mismatch(es) with ${docPath}:`);
  for (const f of failures) console.error('  ' + f);
  process.exit(1);
}
console.log('contract: every exchange matches the document');
