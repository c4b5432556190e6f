/**
 * onnxruntime-node, loaded safely: every Node module of this project imports ORT from here,
 * never from 'onnxruntime-node' itself, so that ORT's native library starts with telemetry
 * off and a private TMPDIR (ort-environment.node.ts). The import order is the point.
 */
import './ort-environment.node.js';

export * from 'onnxruntime-node';
