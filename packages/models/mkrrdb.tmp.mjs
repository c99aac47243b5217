import { writeFileSync } from 'node:fs';
import { buildRrdbOnnx, buildSrvggOnnx } from '@superres/models';
function rng(seed){ let s=seed>>>0; return () => { s = (s*1664525+1013904223)>>>0; return s/2**32-0.5; }; }
export function rrdbStateDict(numBlock, nf=64, gc=32, seed=1) {
  const r = rng(seed); const sd = new Map();
  const conv = (p, out, inp) => { const a = Math.sqrt(6/(inp*9))*2;
    sd.set(`${p}.weight`, { dtype:'float32', shape:[out,inp,3,3], data: Float32Array.from({length:out*inp*9}, () => r()*a*0.2) });
    sd.set(`${p}.bias`, { dtype:'float32', shape:[out], data: Float32Array.from({length:out}, () => r()*0.02) }); };
  conv('conv_first', nf, 3);
  for (let i=0;i<numBlock;i++) for (let k=1;k<=3;k++) for (let j=1;j<=5;j++) conv(`body.${i}.rdb${k}.conv${j}`, j<5?gc:nf, nf+(j-1)*gc);
  for (const p of ['conv_body','conv_up1','conv_up2','conv_hr']) conv(p, nf, nf);
  conv('conv_last', 3, nf);
  return sd;
}
const b = Number(process.argv[2]);
writeFileSync(`/tmp/t/rrdb${b}.onnx`, buildRrdbOnnx(rrdbStateDict(b)).onnx);
