package org.libgptq;

/** A row-major float array and its shape. */
public record Float32Matrix(float[] data, long rows, long cols) {}
