/**
 * Jest transformer for the ESM-only packages under node_modules that jest's CommonJS module system cannot load
 * as they are (ts-mls, @noble/*, @hpke/*; see jest.config.js): esbuild rewrites each file to CommonJS, its
 * `import()` of optional peers included (they become `Promise.resolve().then(() => require(...))`).
 */
const { createHash } = require('node:crypto');
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const esbuild = require('esbuild');

/** This file's own text and esbuild's version, so that changing either invalidates jest's transform cache. */
const transformerKey = createHash('sha256')
  .update(readFileSync(join(__dirname, 'esmTransform.js')))
  .update(esbuild.version)
  .digest('hex');

module.exports = {
  process(sourceText, sourcePath) {
    const { code } = esbuild.transformSync(sourceText, {
      format: 'cjs',
      target: 'node20',
      loader: 'js',
      sourcemap: 'inline',
      sourcefile: sourcePath,
    });
    return { code };
  },
  getCacheKey(sourceText, sourcePath) {
    return createHash('sha256').update(transformerKey).update(sourcePath).update('\0').update(sourceText).digest('hex');
  },
};
