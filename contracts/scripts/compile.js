#!/usr/bin/env node
// Compiles every src/**/*.sol with the pinned solc-js (standard JSON) and writes one artifact per
// contract to artifacts/<ContractName>.json. `@openzeppelin/contracts/...` imports resolve from
// node_modules (pinned version); only contracts under src/ get artifacts.
//
//   node scripts/compile.js           write artifacts (and delete stale ones)
//   node scripts/compile.js --check   recompile in memory; exit 1 if artifacts/ differs
//
// Output is deterministic: fixed settings, metadata bytecodeHash "none", sorted keys, AST ids
// stripped from the storage layout.
'use strict';

const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const SRC_DIR = path.join(ROOT, 'src');
const ARTIFACTS_DIR = path.join(ROOT, 'artifacts');
const EXPECTED_SOLC = '0.8.37';

const SETTINGS = {
  evmVersion: 'prague',
  viaIR: false,
  optimizer: { enabled: true, runs: 200 },
  metadata: { bytecodeHash: 'none' },
  outputSelection: {
    '*': {
      '*': [
        'abi',
        'evm.bytecode.object',
        'evm.deployedBytecode.object',
        'evm.methodIdentifiers',
        'storageLayout',
      ],
    },
  },
};

function listSources(dir) {
  const out = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listSources(full));
    else if (entry.isFile() && entry.name.endsWith('.sol')) out.push(full);
  }
  return out;
}

// Recursively sorts object keys so JSON.stringify is stable; drops storage-layout AST ids,
// which depend on the whole compilation and would churn unrelated artifacts.
function normalize(value) {
  if (Array.isArray(value)) return value.map(normalize);
  if (value && typeof value === 'object') {
    const out = {};
    for (const key of Object.keys(value).sort()) {
      if (key === 'astId') continue;
      out[key] = normalize(value[key]);
    }
    return out;
  }
  return value;
}

// Imports that are not under src/ may only name OpenZeppelin Contracts files, resolved from
// node_modules at the exact version package.json pins (the inlined library code is part of our
// bytecode, so a different version would change the artifacts).
const NODE_MODULES = path.join(ROOT, 'node_modules');
const EXPECTED_OZ = '5.7.0';
let ozChecked = false;
function resolveImport(importPath) {
  const prefix = '@openzeppelin/contracts/';
  if (!importPath.startsWith(prefix) || !importPath.endsWith('.sol')) {
    return { error: `import not found: ${importPath} (only src/ files and ${prefix}... are allowed)` };
  }
  const root = path.join(NODE_MODULES, '@openzeppelin', 'contracts');
  const file = path.resolve(NODE_MODULES, importPath);
  if (!file.startsWith(root + path.sep)) return { error: `import escapes ${prefix}: ${importPath}` };
  if (!ozChecked) {
    let version;
    try {
      version = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).version;
    } catch {
      return { error: `@openzeppelin/contracts is not installed; run npm ci` };
    }
    if (version !== EXPECTED_OZ) {
      return { error: `@openzeppelin/contracts ${version} is installed, expected ${EXPECTED_OZ}; run npm ci` };
    }
    ozChecked = true;
  }
  try {
    return { contents: fs.readFileSync(file, 'utf8') };
  } catch {
    return { error: `import not found: ${importPath}` };
  }
}

// Type ids in a storage layout embed AST ids (`t_struct(Share)1234_storage`), which shift
// whenever any source file changes; drop them unless that would make two types collide.
const AST_ID_IN_TYPE = /(t_(?:struct|enum|contract|userDefinedValueType)\([^)]*\))\d+/g;
function stripTypeIds(layout) {
  if (!layout || !layout.types) return layout;
  const renamed = new Map();
  for (const key of Object.keys(layout.types)) {
    const to = key.replace(AST_ID_IN_TYPE, '$1');
    if (renamed.has(to) && renamed.get(to) !== key) return layout;
    renamed.set(to, key);
  }
  const strip = (v) => {
    if (typeof v === 'string') return v.replace(AST_ID_IN_TYPE, '$1');
    if (Array.isArray(v)) return v.map(strip);
    if (v && typeof v === 'object') {
      const out = {};
      for (const [k, x] of Object.entries(v)) out[strip(k)] = strip(x);
      return out;
    }
    return v;
  };
  return strip(layout);
}

function hex(object) {
  return '0x' + (object || '');
}

// Returns Map<fileName, jsonText> of the artifacts the current sources produce.
function compile() {
  const solc = require('solc');
  const solcVersion = solc.version();
  if (!solcVersion.startsWith(EXPECTED_SOLC + '+')) {
    throw new Error(`solc ${solcVersion} is installed, expected ${EXPECTED_SOLC}; run npm ci`);
  }

  const files = listSources(SRC_DIR).sort();
  if (files.length === 0) throw new Error(`no .sol files under ${SRC_DIR}`);
  const sources = {};
  for (const file of files) {
    const name = path.relative(ROOT, file).split(path.sep).join('/');
    sources[name] = { content: fs.readFileSync(file, 'utf8') };
  }

  const input = { language: 'Solidity', sources, settings: SETTINGS };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: resolveImport }));

  const errors = (output.errors || []).filter((e) => e.severity === 'error');
  for (const e of output.errors || []) {
    if (e.severity !== 'error') process.stderr.write((e.formattedMessage || e.message) + '\n');
  }
  if (errors.length > 0) {
    const msg = errors.map((e) => e.formattedMessage || e.message).join('\n');
    const err = new Error(`solc reported ${errors.length} error(s):\n${msg}`);
    err.solc = true;
    throw err;
  }

  const artifacts = new Map();
  for (const sourceName of Object.keys(output.contracts || {}).sort()) {
    // Library files pulled in through imports (OpenZeppelin) get no artifact of their own; their
    // code is inlined into the contracts that use it.
    if (!sourceName.startsWith('src/')) continue;
    const contracts = output.contracts[sourceName];
    for (const contractName of Object.keys(contracts).sort()) {
      const c = contracts[contractName];
      const bytecode = c.evm.bytecode.object;
      // Interfaces and abstract contracts have no code: nothing to deploy, no artifact.
      if (!bytecode) continue;
      const fileName = `${contractName}.json`;
      if (artifacts.has(fileName)) {
        throw new Error(`two contracts named ${contractName}; artifact names must be unique`);
      }
      const artifact = {
        contractName,
        sourceName,
        solcVersion,
        abi: normalize(c.abi),
        bytecode: hex(bytecode),
        deployedBytecode: hex(c.evm.deployedBytecode.object),
        methodIdentifiers: normalize(c.evm.methodIdentifiers || {}),
        storageLayout: normalize(stripTypeIds(c.storageLayout) || { storage: [], types: null }),
      };
      artifacts.set(fileName, JSON.stringify(artifact, null, 2) + '\n');
    }
  }
  return artifacts;
}

function existingArtifacts() {
  if (!fs.existsSync(ARTIFACTS_DIR)) return [];
  return fs.readdirSync(ARTIFACTS_DIR).filter((f) => f.endsWith('.json')).sort();
}

function check(artifacts) {
  const problems = [];
  const present = new Set(existingArtifacts());
  for (const [file, text] of artifacts) {
    const rel = `artifacts/${file}`;
    if (!present.has(file)) {
      problems.push(`${rel} is missing`);
    } else if (fs.readFileSync(path.join(ARTIFACTS_DIR, file), 'utf8') !== text) {
      problems.push(`${rel} differs from what the sources compile to (stale artifact)`);
    }
  }
  for (const file of present) {
    if (!artifacts.has(file)) problems.push(`artifacts/${file} has no contract in src/ (extra artifact)`);
  }
  return problems;
}

function write(artifacts) {
  fs.mkdirSync(ARTIFACTS_DIR, { recursive: true });
  for (const file of existingArtifacts()) {
    if (!artifacts.has(file)) {
      fs.unlinkSync(path.join(ARTIFACTS_DIR, file));
      console.log(`removed stale artifacts/${file}`);
    }
  }
  for (const [file, text] of artifacts) {
    const target = path.join(ARTIFACTS_DIR, file);
    const old = fs.existsSync(target) ? fs.readFileSync(target, 'utf8') : null;
    if (old !== text) fs.writeFileSync(target, text);
    console.log(`${old === text ? 'unchanged' : 'wrote    '} artifacts/${file}`);
  }
}

function main(argv) {
  const args = argv.slice(2);
  const unknown = args.filter((a) => a !== '--check');
  if (unknown.length > 0) {
    console.error(`unknown argument(s): ${unknown.join(' ')}\nusage: node scripts/compile.js [--check]`);
    return 2;
  }
  let artifacts;
  try {
    artifacts = compile();
  } catch (e) {
    console.error(e.solc ? e.message : `compile failed: ${e.message}`);
    return 1;
  }
  if (args.includes('--check')) {
    const problems = check(artifacts);
    if (problems.length > 0) {
      console.error('contract artifacts are out of date:');
      for (const p of problems) console.error(`  - ${p}`);
      console.error('run `node scripts/compile.js` in contracts/ and commit artifacts/');
      return 1;
    }
    console.log(`artifacts up to date (${artifacts.size} contracts)`);
    return 0;
  }
  write(artifacts);
  return 0;
}

module.exports = { compile, check, SETTINGS };

if (require.main === module) process.exitCode = main(process.argv);
