// The network guard's refusal is a core error class, so every package maps it the same way.
export { UrlRefusedError } from '@superres/core';
