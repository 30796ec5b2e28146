/**
 * zod/mini ships without messages ("Invalid input" for everything); the English ones full zod sets,
 * so a bad config or delivery still says what was expected. Imported for its side effect by every
 * module that builds a schema.
 */
import { config } from 'zod/mini';
import en from 'zod/v4/locales/en.js';

config(en());
