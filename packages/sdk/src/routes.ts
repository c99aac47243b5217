/** Every HTTP path of the superres server. Path parameters use the `:name` syntax (Fastify, find-my-way). */

export const API_PREFIX = '/api/v1/enterprise';

export const ROUTES = {
  superResolution: `${API_PREFIX}/super_resolution`,
  /** `POST` with `{ key }`; `:id` is the job id. */
  fetch: `${API_PREFIX}/fetch/:id`,
  /** Alias of `fetch`, as some Stable Diffusion API clients call it. */
  fetchAlias: `${API_PREFIX}/super_resolution/fetch/:id`,
  uploadImage: `${API_PREFIX}/upload_image`,
  getAllModels: `${API_PREFIX}/get_all_models`,
  loadModel: `${API_PREFIX}/load_model`,
  verifyModel: `${API_PREFIX}/verify_model`,
  deleteModel: `${API_PREFIX}/delete_model`,
  /** The weights file of an installed model (catalog: any key; imported: admin key). */
  downloadModel: `${API_PREFIX}/download_model`,
  systemDetails: `${API_PREFIX}/system_details`,
  clearCache: `${API_PREFIX}/clear_cache`,
  /** Prefix of the outputs served by the server itself (local storage). */
  outputs: '/outputs',
  healthz: '/healthz',
  readyz: '/readyz',
  metrics: '/metrics',
  openapi: '/openapi.json',
} as const;

export type RouteName = keyof typeof ROUTES;

/** Routes that need an admin key (`SUPERRES_ADMIN_KEYS`). */
export const ADMIN_ROUTES: readonly RouteName[] = ['loadModel', 'verifyModel', 'deleteModel', 'clearCache', 'systemDetails'];

/** The concrete path of `fetch` for one job id: `/api/v1/enterprise/fetch/<id>`. */
export function fetchPath(id: string | number): string {
  return ROUTES.fetch.replace(':id', encodeURIComponent(String(id)));
}
