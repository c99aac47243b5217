/**
 * The before/after view: the input (scaled up by the browser) and the output on two canvases of
 * the output's size, the output clipped at the slider; zoom to fit or 1x-8x, pan by dragging.
 */
export interface CompareView {
  show(before: CanvasImageSource, after: ImageData): void;
  setSplit(percent: number): void;
  setZoom(zoom: 'fit' | number): void;
  clear(): void;
}

export function createCompareView(elements: {
  viewport: HTMLElement;
  stage: HTMLElement;
  before: HTMLCanvasElement;
  after: HTMLCanvasElement;
  divider: HTMLElement;
}): CompareView {
  const { viewport, stage, before, after, divider } = elements;
  let width = 0;
  let height = 0;
  let split = 50;
  let zoom: 'fit' | number = 'fit';
  let offset = { x: 0, y: 0 };

  const scale = () => (zoom === 'fit' ? Math.min(viewport.clientWidth / Math.max(1, width), viewport.clientHeight / Math.max(1, height), 1) : zoom);

  function clampOffset(): void {
    const s = scale();
    const minX = Math.min(0, viewport.clientWidth - width * s);
    const minY = Math.min(0, viewport.clientHeight - height * s);
    offset = { x: Math.min(0, Math.max(minX, offset.x)), y: Math.min(0, Math.max(minY, offset.y)) };
  }

  function layout(): void {
    clampOffset();
    stage.style.width = `${width}px`;
    stage.style.height = `${height}px`;
    stage.style.transform = `translate(${offset.x}px, ${offset.y}px) scale(${scale()})`;
    after.style.clipPath = `inset(0 0 0 ${split}%)`;
    divider.style.left = `${(split / 100) * width}px`;
    divider.hidden = width === 0;
  }

  // Pan by dragging; the wheel zooms around the pointer.
  let drag: { x: number; y: number; from: { x: number; y: number } } | undefined;
  viewport.addEventListener('pointerdown', (event) => {
    drag = { x: event.clientX, y: event.clientY, from: offset };
    viewport.setPointerCapture(event.pointerId);
  });
  viewport.addEventListener('pointermove', (event) => {
    if (!drag) return;
    offset = { x: drag.from.x + event.clientX - drag.x, y: drag.from.y + event.clientY - drag.y };
    layout();
  });
  viewport.addEventListener('pointerup', () => (drag = undefined));
  viewport.addEventListener(
    'wheel',
    (event) => {
      if (width === 0) return;
      event.preventDefault();
      const old = scale();
      const next = Math.min(8, Math.max(0.05, old * (event.deltaY < 0 ? 1.25 : 0.8)));
      const box = viewport.getBoundingClientRect();
      const px = event.clientX - box.left;
      const py = event.clientY - box.top;
      offset = { x: px - ((px - offset.x) / old) * next, y: py - ((py - offset.y) / old) * next };
      zoom = next;
      layout();
    },
    { passive: false },
  );
  new ResizeObserver(layout).observe(viewport);

  return {
    show(source, result) {
      width = result.width;
      height = result.height;
      for (const canvas of [before, after]) {
        canvas.width = width;
        canvas.height = height;
      }
      const beforeContext = before.getContext('2d')!;
      beforeContext.imageSmoothingQuality = 'high';
      beforeContext.drawImage(source, 0, 0, width, height);
      after.getContext('2d')!.putImageData(result, 0, 0);
      offset = { x: 0, y: 0 };
      layout();
    },
    setSplit(percent) {
      split = percent;
      layout();
    },
    setZoom(value) {
      zoom = value;
      layout();
    },
    clear() {
      width = height = 0;
      for (const canvas of [before, after]) canvas.width = canvas.height = 0;
      layout();
    },
  };
}
