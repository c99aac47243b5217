/** Which of the files a visitor picked is the model: one checkpoint or ONNX file, or an ncnn .param with its .bin. */

export interface PickedModel {
  /** The checkpoint, ONNX file or ncnn .param. */
  main: File;
  /** The ncnn .bin, when `main` is a .param. */
  ncnnBin?: File;
}

const extension = (file: File) => /\.([^.]+)$/.exec(file.name)?.[1]?.toLowerCase() ?? '';
const stem = (file: File) => file.name.replace(/\.[^.]+$/, '');

/** The model among `files`, or why there is none. */
export function pickModelFiles(files: readonly File[]): PickedModel | { error: string } {
  const params = files.filter((f) => extension(f) === 'param');
  const bins = files.filter((f) => extension(f) === 'bin');
  if (params.length > 1) return { error: 'Pick one ncnn model at a time (one .param and its .bin)' };
  if (params.length === 1) {
    const param = params[0]!;
    // Upscayl names the pair alike; a lone .bin of another name is taken as the pair's too.
    const bin = bins.find((b) => stem(b) === stem(param)) ?? (bins.length === 1 ? bins[0] : undefined);
    if (!bin) return { error: `${param.name} needs its .bin: pick both files together` };
    return { main: param, ncnnBin: bin };
  }
  if (bins.length > 0) return { error: 'A .bin is an ncnn model\'s weights: pick it together with its .param' };
  if (files.length > 1) return { error: 'Pick one model file (or an ncnn .param with its .bin)' };
  return { main: files[0]! };
}
