import cluster from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';

/**
 * With AMS_WORKERS > 1 a scrape lands on one worker, whose counters alone would be a random
 * fraction of the truth. The worker asks the primary, which collects every worker's registry over
 * the cluster IPC channel (prom-client's AggregatorRegistry: counters and histograms summed) and
 * sends the text back.
 */
const ASK = 'ams:cluster-metrics';
const ANSWER = 'ams:cluster-metrics-text';

interface Answer {
  type: typeof ANSWER;
  id: number;
  text?: string;
  error?: string;
}

/** In the primary: answer workers' requests for the aggregated text. */
export function serveClusterMetrics(): void {
  const aggregator = new AggregatorRegistry();
  cluster.on('message', (worker, message: { type?: string; id?: number }) => {
    if (message?.type !== ASK || typeof message.id !== 'number') return;
    const id = message.id;
    aggregator.clusterMetrics().then(
      (text) => worker.send({ type: ANSWER, id, text } satisfies Answer),
      (err: Error) => worker.send({ type: ANSWER, id, error: err.message } satisfies Answer),
    );
  });
}

/** In a worker: offers `registry` to the primary; returns how to fetch the cluster-wide text. */
export function joinClusterMetrics(registry: Registry): () => Promise<string> {
  new AggregatorRegistry(); // installs the worker-side responder
  AggregatorRegistry.setRegistries([registry]);
  let next = 0;
  const pending = new Map<number, (a: Answer) => void>();
  process.on('message', (message: Answer) => {
    if (message?.type === ANSWER) pending.get(message.id)?.(message);
  });
  return () =>
    new Promise((resolve, reject) => {
      const id = next++;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error('the cluster primary did not answer with metrics within 10 s'));
      }, 10_000);
      pending.set(id, (a) => {
        clearTimeout(timer);
        pending.delete(id);
        if (a.text !== undefined) resolve(a.text);
        else reject(new Error(a.error ?? 'no metrics'));
      });
      process.send?.({ type: ASK, id });
    });
}
