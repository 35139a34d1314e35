/**
 * Cleans up a failed ingest: each step that created something registers how to undo it; success
 * disarms the list. Undo steps run newest first and never throw (a failed undo is only logged;
 * the sweeper removes what is left).
 */
export class UndoList {
  private steps: Array<() => Promise<unknown>> = [];

  add(step: () => Promise<unknown>): void {
    this.steps.push(step);
  }

  disarm(): void {
    this.steps = [];
  }

  async run(onError: (err: unknown) => void = () => {}): Promise<void> {
    const steps = this.steps.reverse();
    this.steps = [];
    for (const step of steps) {
      try {
        await step();
      } catch (err) {
        onError(err);
      }
    }
  }
}
