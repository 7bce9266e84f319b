// Loaded with node --import: resolves firebase-admin as an install without it would (npm ci --omit=optional).
import { register } from 'node:module';

const hooks = `export async function resolve(specifier, context, next) {
  if (specifier === 'firebase-admin' || specifier.startsWith('firebase-admin/')) {
    const error = new Error("Cannot find package 'firebase-admin' imported from " + context.parentURL);
    error.code = 'ERR_MODULE_NOT_FOUND';
    throw error;
  }
  return next(specifier, context);
}`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`);
