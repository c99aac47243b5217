/**
 * ncnn conversion as plain data in and out, so a host can run it in a worker thread (Node) or a
 * Web Worker, away from the thread that serves requests or paints the page.
 */
import { convertNcnn, type NcnnConversion } from './convert.js';

export interface NcnnConvertRequest {
  kind: 'ncnn';
  /** The .param text. */
  param: string;
  /** The .bin bytes. */
  bin: Uint8Array;
}

export type NcnnConvertResult = NcnnConversion;

export function convertNcnnRequest(request: NcnnConvertRequest): NcnnConvertResult {
  return convertNcnn(request.param, request.bin);
}
