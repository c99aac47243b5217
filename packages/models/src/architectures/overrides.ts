/**
 * The overrides a fixed-width RGB upscaler (SwinIR, HAT, DAT) can take: none of SRVGG's or
 * RealPLKSR's, an upscale only when it is the checkpoint's own, and 3 output channels.
 */
import { InvalidOptionError } from '@superres/core';
import type { ArchitectureOverrides } from './architecture.js';

export function checkRgbUpscalerOverrides(architecture: string, overrides: ArchitectureOverrides, scale: number): void {
  for (const option of ['activation', 'normGroups'] as const) {
    if (overrides[option] !== undefined) throw new InvalidOptionError(`Option ${option} does not apply to ${architecture}`, { details: { option } });
  }
  if (overrides.upscale !== undefined && overrides.upscale !== scale) {
    throw new InvalidOptionError(`Option upscale is ${overrides.upscale}, but this ${architecture} checkpoint's upsampler gives x${scale}`, {
      details: { option: 'upscale' },
    });
  }
  if (overrides.numOutCh !== undefined && overrides.numOutCh !== 3) {
    throw new InvalidOptionError(`Option numOutCh is ${overrides.numOutCh}, but ${architecture} here always outputs 3 channels`, {
      details: { option: 'numOutCh' },
    });
  }
}
