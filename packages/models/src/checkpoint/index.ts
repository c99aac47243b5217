// Public surface of the checkpoint reader (re-exported by the package entry). The zip reader,
// the unpickler and the torch allow-list stay internal: other formats import them by file.
export { readCheckpoint, extractStateDict, type ExtractedStateDict } from './read-checkpoint.js';
export { STATE_DICT_KEYS } from './state-dict.js';
export type * from './types.js';
