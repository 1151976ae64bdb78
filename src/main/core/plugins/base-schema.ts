import { z } from 'zod';
import { name, tags, text } from '../config/schema-parts.js';

/** The fields every plugin instance accepts; a plugin's schema is `strict({ ...baseFields, …its own })`. */
export const baseFields = {
  name: name('source').optional(),
  enabled: z.boolean().optional(),
  policy: text.optional(),
  repository: text.optional(),
  tags: tags.optional(),
};
