import { readFile } from 'node:fs/promises';
import { parseDocument, type Document } from 'yaml';
import { ConfigError, validateConfigText } from './load.js';
import { writeConfigFile } from './write.js';

/**
 * Changes the config file in place, keeping the user's comments and layout (yaml's Document API), then
 * validates and writes it atomically. A change that would make the file invalid is refused.
 */
export async function editConfigFile(path: string, change: (doc: Document) => void): Promise<void> {
  const doc = parseDocument(await readFile(path, 'utf8').catch(() => ''));
  change(doc);
  const text = doc.toString();
  const checked = validateConfigText(text, path);
  if (!checked.ok) throw new ConfigError(path, checked.errors);
  await writeConfigFile(path, text);
}
