/**
 * Tile progress of one image on stderr: a bar redrawn in place on a terminal, plain lines
 * (one per tile) when stderr is a file or a pipe, so logs stay readable.
 */
import type { UpscaleProgress } from '@superres/core';

export interface ProgressOutput {
  write(text: string): void;
  /** Whether the output is a terminal (the bar is redrawn) or not (lines). */
  isTTY: boolean;
  /** Terminal width, for the bar. */
  columns?: number;
}

export interface ProgressDisplay {
  update(progress: UpscaleProgress): void;
  /** Ends the bar's line on a terminal (after success or failure). */
  end(): void;
}

const BAR_WIDTH = 24;

export function formatDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${String(s % 60).padStart(2, '0')}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export function createProgressDisplay(out: ProgressOutput, label: string): ProgressDisplay {
  let drawn = false;
  return {
    update(p) {
      if (p.stage === 'faces') {
        // Faces come after the tiles: a line of their own, on a terminal too.
        if (drawn) out.write('\n');
        drawn = false;
        const what = p.facesDone === 0 ? `${p.facesTotal} face(s) found` : `face ${p.facesDone}/${p.facesTotal} restored`;
        out.write(`${label}: ${what}, ${formatDuration(p.elapsedMs)} elapsed\n`);
        return;
      }
      const percent = Math.floor((100 * p.tilesDone) / p.tilesTotal);
      const eta = p.etaMs === undefined ? '' : `, ETA ${formatDuration(p.etaMs)}`;
      const timing = `${formatDuration(p.elapsedMs)} elapsed${eta}`;
      if (!out.isTTY) {
        out.write(`${label}: tile ${p.tilesDone}/${p.tilesTotal} (${percent}%), ${timing}\n`);
        return;
      }
      const filled = Math.round((BAR_WIDTH * p.tilesDone) / p.tilesTotal);
      const bar = `[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}]`;
      const line = `${label} ${bar} ${percent}% tile ${p.tilesDone}/${p.tilesTotal}, ${timing}`;
      const width = out.columns && out.columns > 20 ? out.columns - 1 : line.length;
      out.write(`\r\u001b[2K${line.slice(0, width)}`);
      drawn = true;
    },
    end() {
      if (drawn) out.write('\n');
      drawn = false;
    },
  };
}
