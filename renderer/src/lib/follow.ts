/**
 * The auto-scroll rule of a live log, apart from any DOM so it reads as the
 * rule it is: follow the end while the reader is at the bottom; stop the
 * moment they scroll up (wheel, keys or scrollbar); follow again once they
 * are back at the bottom.
 */
export class FollowRule {
  following = true;
  private lastTop = 0;

  /** `tolerance` px from the end still counts as the bottom (sub-pixel rounding, zoom). */
  constructor(private readonly tolerance = 8) {}

  /** A scroll position was observed (the `scroll` event). */
  scrolled(top: number, viewportHeight: number, contentHeight: number): void {
    const movedUp = top < this.lastTop - 1;
    this.lastTop = top;
    if (top + viewportHeight >= contentHeight - this.tolerance) this.following = true;
    else if (movedUp) this.following = false;
  }

  /** The reader asked to go up (wheel up, ArrowUp, PageUp, Home): stop before the scroll even lands. */
  readerMovedUp(): void {
    this.following = false;
  }

  /** The view scrolled itself (to the end, or after its content changed): not the reader's doing. */
  placed(top: number): void {
    this.lastTop = top;
  }

  /** Back to the end (the "latest" button, End). */
  follow(): void {
    this.following = true;
  }
}
