// Writing to a stream that may be slow (a pipe) or gone (`| head` closed it).

/** Whether the stream can no longer take output (reader gone, EPIPE). */
export function isGone(stream: NodeJS.WritableStream): boolean {
  const s = stream as { destroyed?: boolean; writableEnded?: boolean };
  return s.destroyed === true || s.writableEnded === true;
}

/**
 * Writes a chunk and waits for 'drain' when the buffer is full, so a slow
 * pipe paces the writer. A stream that is gone drops the chunk instead of
 * waiting forever; errors end the wait (the caller watches 'error').
 */
export async function writeOut(stream: NodeJS.WritableStream, chunk: string): Promise<void> {
  if (isGone(stream)) return;
  if (stream.write(chunk) || isGone(stream)) return;
  await new Promise<void>((resolve) => {
    const done = (): void => {
      stream.off('drain', done);
      stream.off('close', done);
      stream.off('error', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
    stream.on('error', done);
  });
}
