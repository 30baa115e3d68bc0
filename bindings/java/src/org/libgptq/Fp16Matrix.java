package org.libgptq;

/** A row-major array of IEEE half-precision bit patterns and its shape. */
public record Fp16Matrix(short[] data, long rows, long cols) {}
