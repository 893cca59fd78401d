// A YAML subset, enough for hyperparameter files: block mappings and sequences, flow
// [..] and {..}, quoted and plain scalars, comments. Anything else is refused clearly.
export class YamlError extends Error {
  constructor(line, msg) { super(`line ${line}: ${msg}`); this.line = line; }
}

function stripComment(s) {
  let q = null;
  for (let i = 0; i < s.length; i += 1) {
    const c = s[i];
    if (q) { if (c === q && s[i - 1] !== '\\') q = null; continue; }
    if (c === '"' || c === "'") q = c;
    else if (c === '#' && (i === 0 || /\s/.test(s[i - 1]))) return s.slice(0, i);
  }
  return s;
}

function scalar(text, line) {
  const s = text.trim();
  if (s === '' || s === '~' || s === 'null' || s === 'Null' || s === 'NULL') return null;
  if (/^[|>][-+]?\d*$/.test(s)) throw new YamlError(line, 'multi-line strings (| and >) are not supported here; write the text on one line');
  if (/^[&*!]/.test(s)) throw new YamlError(line, 'anchors, aliases and tags are not supported here');
  if (s[0] === '"') {
    if (!s.endsWith('"') || s.length < 2) throw new YamlError(line, 'unterminated "string"');
    try { return JSON.parse(s); } catch { throw new YamlError(line, `bad string ${s}`); }
  }
  if (s[0] === "'") {
    if (!s.endsWith("'") || s.length < 2) throw new YamlError(line, "unterminated 'string'");
    return s.slice(1, -1).replace(/''/g, "'");
  }
  if (s[0] === '[' || s[0] === '{') return flow(s, line);
  if (/^(true|True|TRUE)$/.test(s)) return true;
  if (/^(false|False|FALSE)$/.test(s)) return false;
  if (/^[-+]?\d+$/.test(s)) return Number(s);
  if (/^[-+]?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?$/.test(s)) return Number(s);
  return s;
}

function flow(text, line) {
  let i = 0;
  const ws = () => { while (i < text.length && /\s/.test(text[i])) i += 1; };
  const value = () => {
    ws();
    if (text[i] === '[') {
      i += 1; const out = [];
      ws(); if (text[i] === ']') { i += 1; return out; }
      for (;;) {
        out.push(value()); ws();
        if (text[i] === ',') { i += 1; continue; }
        if (text[i] === ']') { i += 1; return out; }
        throw new YamlError(line, 'expected , or ] in a [list]');
      }
    }
    if (text[i] === '{') {
      i += 1; const out = {};
      ws(); if (text[i] === '}') { i += 1; return out; }
      for (;;) {
        ws();
        const start = i;
        while (i < text.length && text[i] !== ':') i += 1;
        const key = scalar(text.slice(start, i), line);
        i += 1;
        out[String(key)] = value(); ws();
        if (text[i] === ',') { i += 1; continue; }
        if (text[i] === '}') { i += 1; return out; }
        throw new YamlError(line, 'expected , or } in a {map}');
      }
    }
    const start = i;
    if (text[i] === '"' || text[i] === "'") {
      const qc = text[i]; i += 1;
      while (i < text.length && !(text[i] === qc && text[i - 1] !== '\\')) i += 1;
      i += 1;
    } else {
      while (i < text.length && !',]}'.includes(text[i])) i += 1;
    }
    return scalar(text.slice(start, i), line);
  };
  const out = value(); ws();
  if (i < text.length) throw new YamlError(line, 'unexpected text after a flow value');
  return out;
}

function splitKey(text) {
  // "key: value" -> [key, value]; the colon must be followed by a space or the end.
  let q = null;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (q) { if (c === q) q = null; continue; }
    if ((c === '"' || c === "'") && i === 0) { q = c; continue; }
    if (c === ':' && (i + 1 === text.length || text[i + 1] === ' ')) return [text.slice(0, i), text.slice(i + 1)];
  }
  return null;
}

export function parseYaml(source) {
  const lines = [];
  source.replace(/\r\n?/g, '\n').split('\n').forEach((rawLine, n) => {
    if (rawLine.includes('\t') && /^\s*\t/.test(rawLine)) throw new YamlError(n + 1, 'indent with spaces, not tabs');
    const text = stripComment(rawLine).replace(/\s+$/, '');
    if (!text.trim() || text.trim() === '---') return;
    if (text.trim() === '...') return;
    lines.push({ indent: text.length - text.trimStart().length, text: text.trim(), n: n + 1 });
  });
  let pos = 0;

  function block(indent) {
    const first = lines[pos];
    if (first.text.startsWith('- ') || first.text === '-') return seq(first.indent);
    return map(first.indent);
  }

  function seq(indent) {
    const out = [];
    while (pos < lines.length && lines[pos].indent === indent && (lines[pos].text.startsWith('- ') || lines[pos].text === '-')) {
      const ln = lines[pos];
      const rest = ln.text === '-' ? '' : ln.text.slice(2).trim();
      if (!rest) {
        pos += 1;
        out.push(pos < lines.length && lines[pos].indent > indent ? block(lines[pos].indent) : null);
      } else if (splitKey(rest) && !/^["'[{]/.test(rest)) {
        // "- key: v" starts a mapping whose keys sit at the column after "- ".
        const inner = indent + (ln.text.length - ln.text.slice(1).trimStart().length);
        lines[pos] = { indent: inner, text: rest, n: ln.n };
        out.push(map(inner));
      } else {
        pos += 1;
        out.push(scalar(rest, ln.n));
      }
    }
    return out;
  }

  function map(indent) {
    const out = {};
    while (pos < lines.length && lines[pos].indent === indent) {
      const ln = lines[pos];
      if (ln.text.startsWith('- ')) throw new YamlError(ln.n, 'a list item where a key was expected');
      const kv = splitKey(ln.text);
      if (!kv) throw new YamlError(ln.n, `expected "key: value", got ${JSON.stringify(ln.text)}`);
      const key = String(scalar(kv[0], ln.n));
      const rest = kv[1].trim();
      pos += 1;
      if (rest) out[key] = scalar(rest, ln.n);
      else if (pos < lines.length && (lines[pos].indent > indent || (lines[pos].indent === indent && lines[pos].text.startsWith('- ')))) {
        out[key] = block(lines[pos].indent);
      } else out[key] = null;
    }
    if (pos < lines.length && lines[pos].indent > indent) throw new YamlError(lines[pos].n, 'unexpected indentation');
    return out;
  }

  if (!lines.length) return null;
  if (lines.length === 1 && !splitKey(lines[0].text) && !lines[0].text.startsWith('- ')) return scalar(lines[0].text, lines[0].n);
  const result = block(lines[0].indent);
  if (pos < lines.length) throw new YamlError(lines[pos].n, 'unexpected indentation');
  return result;
}
