package org.libgptq;

/**
 * Receives the generated text of one sequence of {@link Session#generateBatch} as it
 * becomes final: the index of its prompt, the piece (often "") and the token just
 * generated (-1 for a last call that flushes text held back at the end). It runs on the
 * thread that called generateBatch, never for two sequences at once.
 *
 * <p>Return false to stop that sequence only; the others go on. An exception thrown here
 * stops every sequence (each at its next token) and is thrown by generateBatch when it
 * returns.
 */
@FunctionalInterface
public interface BatchTokenListener {
  boolean onToken(int sequence, String piece, int tokenId);
}
