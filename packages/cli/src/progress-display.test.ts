import { describe, expect, it } from 'vitest';
import { createProgressDisplay, formatDuration } from './progress-display.js';

const event = (tilesDone: number, etaMs?: number) => ({ tilesDone, tilesTotal: 4, stage: 'inference' as const, elapsedMs: 1500 * tilesDone, ...(etaMs === undefined ? {} : { etaMs }) });

describe('progress display', () => {
  it('writes one plain line per tile when not on a terminal', () => {
    let text = '';
    const display = createProgressDisplay({ write: (t) => void (text += t), isTTY: false }, 'baby.png');
    display.update(event(1, 4500));
    display.update(event(4, 0));
    display.end();
    expect(text).toBe('baby.png: tile 1/4 (25%), 2s elapsed, ETA 5s\nbaby.png: tile 4/4 (100%), 6s elapsed, ETA 0s\n');
  });

  it('redraws one bar in place on a terminal and ends its line once', () => {
    let text = '';
    const display = createProgressDisplay({ write: (t) => void (text += t), isTTY: true, columns: 200 }, 'baby.png');
    display.update(event(1, 4500));
    display.update(event(2, 3000));
    display.end();
    const frames = text.split('\r\u001b[2K').filter(Boolean);
    expect(frames).toHaveLength(2);
    expect(frames[0]).toBe('baby.png [######------------------] 25% tile 1/4, 2s elapsed, ETA 5s');
    expect(frames[1]).toMatch(/^baby\.png \[#{12}-{12}\] 50% tile 2\/4, 3s elapsed, ETA 3s\n$/);
    expect(text.split('\n')).toHaveLength(2);
  });

  it('puts face enhancement on lines of their own after the bar', () => {
    let text = '';
    const display = createProgressDisplay({ write: (t) => void (text += t), isTTY: true, columns: 200 }, 'me.jpg');
    display.update(event(4, 0));
    display.update({ stage: 'faces', facesDone: 0, facesTotal: 2, elapsedMs: 300 });
    display.update({ stage: 'faces', facesDone: 1, facesTotal: 2, elapsedMs: 2600 });
    display.end();
    expect(text.split('\n').slice(1)).toEqual(['me.jpg: 2 face(s) found, 0s elapsed', 'me.jpg: face 1/2 restored, 3s elapsed', '']);
  });

  it('fits the bar to narrow terminals', () => {
    let text = '';
    createProgressDisplay({ write: (t) => void (text += t), isTTY: true, columns: 40 }, 'x').update(event(1));
    expect(text.replace('\r\u001b[2K', '').length).toBe(39);
  });

  it('formats durations', () => {
    expect(formatDuration(400)).toBe('0s');
    expect(formatDuration(59_400)).toBe('59s');
    expect(formatDuration(61_000)).toBe('1m01s');
    expect(formatDuration(3_726_000)).toBe('1h02m');
  });
});
