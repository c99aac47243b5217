import { now } from './schedule.js';

/** What `upscale()` reports: tiles while the model runs, then faces when face enhancement is on. */
export type UpscaleProgress = TileProgress | FaceProgress;

export interface TileProgress {
  tilesDone: number;
  tilesTotal: number;
  stage: 'inference';
  /** Milliseconds since the first tile started. */
  elapsedMs: number;
  /**
   * Estimated milliseconds left, from the throughput measured so far (input pixels per
   * millisecond of this job, stitching and resampling included); absent before the first tile.
   */
  etaMs?: number;
}

export interface FaceProgress {
  stage: 'faces';
  /** Faces restored so far (0 when detection has just found them). */
  facesDone: number;
  facesTotal: number;
  /** Milliseconds since face enhancement started. */
  elapsedMs: number;
}

/** Tracks work done in input pixels and turns it into progress events with an ETA. */
export class ProgressMeter {
  private readonly started = now();
  private pixelsDone = 0;
  private tilesDone = 0;

  constructor(
    private readonly tilesTotal: number,
    private readonly pixelsTotal: number,
  ) {}

  /** Records a finished tile of `pixels` input pixels and returns the event to report. */
  tileDone(pixels: number): TileProgress {
    this.tilesDone += 1;
    this.pixelsDone += pixels;
    const elapsedMs = now() - this.started;
    const left = this.pixelsTotal - this.pixelsDone;
    const etaMs = this.pixelsDone > 0 ? Math.max(0, Math.round((elapsedMs / this.pixelsDone) * left)) : undefined;
    return {
      tilesDone: this.tilesDone,
      tilesTotal: this.tilesTotal,
      stage: 'inference',
      elapsedMs: Math.round(elapsedMs),
      ...(etaMs !== undefined ? { etaMs } : {}),
    };
  }
}
