export {
  catalogModels,
  catalogOnnx,
  registerBuiltinModels,
  DEFAULT_MODEL_ID,
  type CatalogModel,
  type CatalogArchitecture,
} from './catalog.js';
export { interpolateStateDicts } from './interpolate.js';
export { buildDenoisedOnnx, checkDenoise, needsDenoisePartner, DENOISE_MODEL_ID, DENOISE_PARTNER_ID } from './denoise.js';
export { faceCatalogModels, DEFAULT_FACE_MODELS } from './face-catalog.js';
