/**
 * Console output for training, in the seed's shape: a progress bar per epoch (loss, batch,
 * it/s, ETA) and the seed's test line. Without a terminal (CI, a pipe) the bar is replaced
 * by one line per epoch.
 */
import cliProgress from 'cli-progress';
import type { EpochMetrics } from './core/config.js';
import type { TrainEvents } from './core/training-loop.js';

/** The seed's test line (loss only, for a regression loss; nothing without a validation split). */
function testLine(m: Pick<EpochMetrics, 'test_loss' | 'test_correct' | 'test_count'>): string | undefined {
  if (m.test_loss === undefined || m.test_count === undefined) return undefined;
  const loss = `Test set: Average loss: ${m.test_loss.toFixed(4)}`;
  if (m.test_correct === undefined) return loss;
  const percent = ((100 * m.test_correct) / m.test_count).toFixed(2);
  return `${loss}, Accuracy: ${m.test_correct}/${m.test_count} (${percent}%)`;
}

export function consoleProgress(epochs: number, stream: NodeJS.WriteStream = process.stderr): TrainEvents {
  let bar: cliProgress.SingleBar | undefined;
  let started = 0;
  let lastLoss = NaN;
  return {
    onEpochStart(epoch, first, batches) {
      console.log(`Epoch ${epoch + 1}/${epochs}`);
      started = performance.now();
      if (!stream.isTTY) return;
      bar = new cliProgress.SingleBar(
        {
          stream,
          format:
            'loss={loss} batch_id={value}: {percentage}%|{bar}| {value}/{total} ' +
            '[{duration_formatted}<{eta_formatted}, {rate}it/s]',
          barCompleteChar: '\u2588',
          barIncompleteChar: ' ',
          hideCursor: true,
          etaBuffer: 50,
        },
        cliProgress.Presets.shades_classic,
      );
      bar.start(batches, first, { loss: '-', rate: '-' });
    },
    onStep({ batch, loss }) {
      lastLoss = loss;
      if (!bar) return;
      const seconds = (performance.now() - started) / 1000;
      bar.update(batch + 1, { loss: loss.toFixed(4), rate: ((batch + 1) / Math.max(seconds, 1e-3)).toFixed(2) });
    },
    onEpoch(m, checkpoint) {
      if (bar) bar.stop();
      else {
        const rate = (m.batches / m.train_seconds).toFixed(2);
        console.log(`loss=${lastLoss.toFixed(4)} batches=${m.batches} [${m.train_seconds.toFixed(1)}s, ${rate}it/s]`);
      }
      const test = testLine(m);
      if (test) console.log(test);
      if (checkpoint) console.log(`checkpoint: ${checkpoint}`);
    },
  };
}
