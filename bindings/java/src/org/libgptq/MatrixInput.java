package org.libgptq;

/**
 * One layer to quantize: its weights W [rows, cols] row-major (the Hugging Face
 * nn.Linear weight: rows = out_features, cols = in_features) and its inputs, given as the
 * Hessian H [cols, cols] or as activations X [n, cols] (one input vector per row).
 */
public record MatrixInput(float[] weights, long rows, long cols, float[] hessian, float[] activations, long n) {
  /** For round-to-nearest, which needs no inputs. */
  public static MatrixInput of(float[] weights, long rows, long cols) {
    return new MatrixInput(weights, rows, cols, null, null, 0);
  }

  public static MatrixInput withHessian(float[] weights, long rows, long cols, float[] hessian) {
    return new MatrixInput(weights, rows, cols, hessian, null, 0);
  }

  public static MatrixInput withActivations(float[] weights, long rows, long cols, float[] activations, long n) {
    return new MatrixInput(weights, rows, cols, null, activations, n);
  }

  /** The library reads as many values as the shapes say: arrays must hold them. */
  void check() {
    if (weights == null) throw bad("MatrixInput.weights is null");
    if (rows > 0 && cols > 0 && weights.length != rows * cols) {
      throw bad("MatrixInput.weights has " + weights.length + " values, its shape needs " + rows * cols);
    }
    if (hessian != null && hessian.length != cols * cols) {
      throw bad("MatrixInput.hessian has " + hessian.length + " values, its shape needs " + cols * cols);
    }
    if (activations != null && activations.length != n * cols) {
      throw bad("MatrixInput.activations has " + activations.length + " values, its shape needs " + n * cols);
    }
  }

  private static GptqException bad(String message) {
    return new GptqException(Status.INVALID_ARGUMENT, message);
  }
}
