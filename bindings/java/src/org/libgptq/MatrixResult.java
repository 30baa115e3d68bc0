package org.libgptq;

import org.libgptq.swig.gptq;

/**
 * One quantized weight matrix (gptq_quantize_matrix, experimental in gptq.h): its
 * checkpoint tensors, dequantized weights and statistics. Immutable: usable from several
 * threads at once. Shapes as gptq.h gives them; G is the number of groups.
 */
public final class MatrixResult implements AutoCloseable {
  private final NativeHandle handle;

  MatrixResult(long ptr) {
    handle = new NativeHandle("MatrixResult", ptr, gptq::matrix_result_destroy, null, null);
    NativeHandle.CLEANER.register(this, handle);
  }

  @Override
  public void close() {
    handle.run();
  }

  private Int32Matrix ints(int which) {
    long h = handle.acquire();
    try {
      long[] shape = gptq.matrix_result_shape(h, which);
      return new Int32Matrix(gptq.matrix_result_ints(h, which), shape[0], shape[1]);
    } finally {
      handle.release();
    }
  }

  private Float32Matrix floats(int which) {
    long h = handle.acquire();
    try {
      long[] shape = gptq.matrix_result_shape(h, which);
      return new Float32Matrix(gptq.matrix_result_floats(h, which), shape[0], shape[1]);
    } finally {
      handle.release();
    }
  }

  /** int32 [cols * bits / 32, rows], as a Hugging Face GPTQ checkpoint holds it. */
  public Int32Matrix qweight() {
    return ints(gptq.GPTQ_JAVA_QWEIGHT);
  }

  /** int32 [G, rows * bits / 32], zero points in the config's checkpoint_format. */
  public Int32Matrix qzeros() {
    return ints(gptq.GPTQ_JAVA_QZEROS);
  }

  /** int32 [1, cols]: each column's group. */
  public Int32Matrix gIdx() {
    return ints(gptq.GPTQ_JAVA_G_IDX);
  }

  /** The true zero points, int32 [G, rows] in [0, 2^bits). */
  public Int32Matrix zeros() {
    return ints(gptq.GPTQ_JAVA_ZEROS);
  }

  /** float [rows, cols]: scale * (code - zero). */
  public Float32Matrix dequantized() {
    return floats(gptq.GPTQ_JAVA_DEQUANTIZED);
  }

  /** float [G, rows]. */
  public Float32Matrix scales() {
    return floats(gptq.GPTQ_JAVA_SCALES);
  }

  /** The checkpoint's scales: IEEE half bits [G, rows]. */
  public Fp16Matrix scalesFp16() {
    long h = handle.acquire();
    try {
      long[] shape = gptq.matrix_result_shape(h, gptq.GPTQ_JAVA_SCALES_FP16);
      return new Fp16Matrix(gptq.matrix_result_halves(h), shape[0], shape[1]);
    } finally {
      handle.release();
    }
  }

  /** The GPTQ loss (0 for RTN). */
  public double loss() {
    long h = handle.acquire();
    try {
      return gptq.matrix_result_loss(h);
    } finally {
      handle.release();
    }
  }

  /** The damping fraction finally used (0 for RTN). */
  public double dampPercent() {
    long h = handle.acquire();
    try {
      return gptq.matrix_result_damp_percent(h);
    } finally {
      handle.release();
    }
  }
}
