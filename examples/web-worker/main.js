/** The page: starts the training worker and shows each step's loss as it comes. */
const status = document.getElementById('status');
const list = document.getElementById('losses');
/** What the page has seen, for anyone who reads it (a test does): each step's loss, and the result. */
window.training = { losses: [], done: null, error: null };

const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
worker.onmessage = ({ data }) => {
  if (data.type === 'step') {
    window.training.losses.push(data.loss);
    list.textContent += `step ${data.step}: loss ${data.loss.toFixed(4)}\n`;
    status.textContent = `training: step ${data.step}`;
  } else if (data.type === 'done') {
    window.training.done = data;
    status.textContent = `done: ${data.steps} steps, test accuracy ${(100 * data.accuracy).toFixed(1)}%`;
  } else if (data.type === 'error') {
    window.training.error = data.message;
    status.textContent = `error: ${data.message}`;
  }
};
