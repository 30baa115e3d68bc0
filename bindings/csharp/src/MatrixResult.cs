// One quantized weight matrix (gptq_quantize_matrix, experimental in
// gptq.h): its checkpoint tensors, dequantized weights and statistics.
using System;
using LibGptq.Native;

namespace LibGptq {

/// <summary>A row-major array with its shape.</summary>
public sealed class Matrix<T> {
  public T[] Data { get; private set; }
  public long Rows { get; private set; }
  public long Cols { get; private set; }
  internal Matrix(T[] data, long rows, long cols) {
    Data = data;
    Rows = rows;
    Cols = cols;
  }
}

/// <summary>
/// The layer to quantize: Weights [Rows, Cols] row-major and the layer's
/// inputs as either Hessian [Cols, Cols] or Activations [N, Cols].
/// </summary>
public sealed class MatrixInput {
  public float[] Weights { get; set; }
  public long Rows { get; set; }
  public long Cols { get; set; }
  public float[] Hessian { get; set; }
  public float[] Activations { get; set; }
  public long N { get; set; }

  // The arrays' lengths against the shapes, before C reads them.
  internal void Check() {
    if (Weights == null) throw new ArgumentNullException("Weights");
    if (Rows > 0 && Cols > 0 && Weights.LongLength != Rows * Cols) Bad("Weights", Weights.LongLength, Rows * Cols);
    if (Hessian != null && Hessian.LongLength != Cols * Cols) Bad("Hessian", Hessian.LongLength, Cols * Cols);
    if (Activations != null && Activations.LongLength != N * Cols) Bad("Activations", Activations.LongLength, N * Cols);
  }

  static void Bad(string what, long got, long want) {
    throw new ArgumentException(string.Format("MatrixInput.{0} has {1} values, its shape needs {2}", what, got, want),
                                what);
  }
}

/// <summary>Immutable: usable from several threads at once.</summary>
public sealed class MatrixResult : IDisposable {
  readonly MatrixResultHandle h;

  internal MatrixResult(MatrixResultHandle r) { h = r; }

  public void Dispose() { h.Dispose(); }

  delegate void CopyFn<T>(MatrixResultHandle r, T[] out_, long cap, out long count, out long rows, out long cols);

  // One call with an empty buffer sizes it (GPTQ_ERR_BUFFER_TOO_SMALL sets
  // the count and the shape), the second fills it.
  Matrix<T> Copy<T>(CopyFn<T> f) {
    long count = 0, rows = 0, cols = 0;
    try {
      f(h, new T[0], 0, out count, out rows, out cols);
      return new Matrix<T>(new T[0], rows, cols);
    } catch (GptqException e) when (e.Status == Status.BufferTooSmall) {
    }
    var data = new T[count];
    f(h, data, data.Length, out count, out rows, out cols);
    return new Matrix<T>(data, rows, cols);
  }

  /// <summary>int32 [cols*bits/32, rows], as a Hugging Face GPTQ checkpoint.</summary>
  public Matrix<int> QWeight() { return Copy<int>(gptq.matrix_result_qweight_copy); }
  /// <summary>int32 [G, rows*bits/32].</summary>
  public Matrix<int> QZeros() { return Copy<int>(gptq.matrix_result_qzeros_copy); }
  /// <summary>The checkpoint's scales, IEEE half bits [G, rows].</summary>
  public Matrix<ushort> ScalesFp16() { return Copy<ushort>(gptq.matrix_result_scales_fp16_copy); }
  /// <summary>float32 [rows, cols].</summary>
  public Matrix<float> Dequantized() { return Copy<float>(gptq.matrix_result_dequantized_copy); }
  /// <summary>float32 [G, rows].</summary>
  public Matrix<float> Scales() { return Copy<float>(gptq.matrix_result_scales_copy); }
  /// <summary>The true zero points int32 [G, rows].</summary>
  public Matrix<int> Zeros() { return Copy<int>(gptq.matrix_result_zeros_copy); }

  /// <summary>int32 [cols] (shape [1, cols]).</summary>
  public Matrix<int> GIdx() {
    return Copy<int>((MatrixResultHandle r, int[] o, long cap, out long count, out long rows, out long cols) => {
      rows = 1;
      count = 0;
      try {
        gptq.matrix_result_g_idx_copy(r, o, cap, out count);
      } finally {
        cols = count;
      }
    });
  }

  /// <summary>The GPTQ loss (0 for RTN).</summary>
  public double Loss { get { double v; gptq.matrix_result_loss(h, out v); return v; } }

  /// <summary>The damping finally used.</summary>
  public double DampPercent { get { double v; gptq.matrix_result_damp_percent(h, out v); return v; } }
}

}
