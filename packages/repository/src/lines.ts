import { StringDecoder } from 'node:string_decoder';

/**
 * Splits UTF-8 text into lines (a final line needs no newline), handing over each chunk's
 * complete lines at once: one await per chunk instead of one per line. A CR before the LF stays
 * on the line (JSON.parse reads it as whitespace).
 */
export async function* lineBatches(stream: AsyncIterable<Buffer>): AsyncGenerator<string[]> {
  const decoder = new StringDecoder('utf8');
  let rest = '';
  for await (const chunk of stream) {
    const text = decoder.write(chunk);
    const cut = text.lastIndexOf('\n');
    // No line ends in this chunk: keep appending (V8 joins the pieces once, when the line ends).
    if (cut < 0) {
      rest += text;
      continue;
    }
    const lines = (rest + text.slice(0, cut)).split('\n');
    rest = text.slice(cut + 1);
    yield lines;
  }
  rest += decoder.end();
  if (rest) yield [rest];
}
