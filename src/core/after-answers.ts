/**
 * Work kept until the answers of this event-loop turn are written: entries queued during the
 * turn are applied in its check phase (`setImmediate`), or at once by `drain()`. Work done ahead
 * of an answer delays every answer of the turn, and under a closed loop the client's next
 * callback with it (bench/RESULTS.md, "What users run, measured as they run it").
 */
export class AfterAnswers<T> {
  private queued: T[] = [];
  private scheduled = false;

  constructor(private readonly apply: (entry: T) => void) {}

  private readonly due = () => {
    this.scheduled = false;
    this.drain();
  };

  push(entry: T): void {
    this.queued.push(entry);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(this.due);
    }
  }

  get empty(): boolean {
    return this.queued.length === 0;
  }

  /** Applies every queued entry now, in order. */
  drain(): void {
    const queued = this.queued;
    this.queued = [];
    for (const entry of queued) this.apply(entry);
  }
}
