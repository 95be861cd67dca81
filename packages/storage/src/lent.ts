/**
 * Buffers lent down a stream. A producer that would otherwise allocate a fresh buffer per chunk
 * lends a view of memory it reuses; the stage that is done with the bytes (one that copied them
 * into its own memory, or a store that wrote them to a file) hands the view back, and the
 * producer refills it. Fresh buffers are garbage that V8 frees late and glibc keeps as RSS. A
 * view never handed back (an uploading store that keeps its own copies, a failed backup) is
 * simply collected; a stage that passes a view on unchanged must not hand it back.
 */
const lent = new WeakMap<Uint8Array, () => void>();

/** Marks `view` as lent: `giveBack` runs once its bytes have been copied or written out. */
export function lend(view: Buffer, giveBack: () => void): Buffer {
  lent.set(view, giveBack);
  return view;
}

/** Called by the stage done with `view`'s bytes: nothing downstream sees `view` again. */
export function copiedOut(view: Uint8Array): void {
  const giveBack = lent.get(view);
  if (!giveBack) return;
  lent.delete(view);
  giveBack();
}
