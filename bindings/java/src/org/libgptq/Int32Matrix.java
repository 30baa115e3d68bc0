package org.libgptq;

/** A row-major int32 array and its shape. */
public record Int32Matrix(int[] data, long rows, long cols) {}
