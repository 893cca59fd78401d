// YAML is read by the server, with the loader the CLI uses (PyYAML's safe_load, YAML 1.1:
// `yes`/`on` are true, `010` is 8, `1e5` is text), so an algorithm file means the same thing
// in the console as on the command line. Nothing is parsed here; errors are the server's
// (they name the line and column, or the field whose value has no JSON form).
import { post, v2 } from './api.js';

export async function parseYaml(text) {
  const answer = await post(v2('/yaml/parse'), { text });
  return answer.document;
}
