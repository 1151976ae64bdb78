import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Where the shell finds its files, relative to the compiled `dist/main/` folder (also inside app.asar). */
export interface AppFiles {
  readonly rendererIndexUrl: string;
  readonly preloadPath: string;
  readonly assetsDir: string;
}

/** The app's files for a compiled `dist/main` directory. */
export function appFiles(distMainDir: string): AppFiles {
  const root = join(distMainDir, '..', '..');
  return {
    rendererIndexUrl: pathToFileURL(join(root, 'dist', 'renderer', 'index.html')).href,
    preloadPath: join(root, 'dist', 'preload', 'index.cjs'),
    assetsDir: join(root, 'assets'),
  };
}
