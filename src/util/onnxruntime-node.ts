/**
 * onnxruntime-node, loaded safely: every Node module of this project imports ORT from here,
 * never from 'onnxruntime-node' itself, so that ORT's native library starts with telemetry
 * off and a private TMPDIR (ort-environment.ts). The import order is the point.
 */
import './ort-environment.js';

export * from 'onnxruntime-node';
