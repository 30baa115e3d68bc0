package org.libgptq;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * One matrix: the packed tensors have the checkpoint's shapes, and unpacking qweight,
 * qzeros and the scales gives back the dequantized weights.
 */
class MatrixTest {
  @Test
  void quantizeMatrixPackedTensors() {
    final int rows = 64, cols = 256, n = 512, groups = cols / 128;
    Random rng = new Random(1);
    float[] w = new float[rows * cols];
    float[] x = new float[n * cols];
    for (int i = 0; i < w.length; i++) w[i] = (float) rng.nextGaussian() * 0.02f;
    for (int i = 0; i < x.length; i++) x[i] = (float) rng.nextGaussian();
    try (Context ctx = TestSupport.cpuContext();
        MatrixResult r = ctx.quantizeMatrix(MatrixInput.withActivations(w, rows, cols, x, n),
            QuantizeOptions.builder().bits(4).groupSize(128).sym(false).build())) {
      Int32Matrix qw = r.qweight(), qz = r.qzeros(), gi = r.gIdx(), zeros = r.zeros();
      Float32Matrix sc = r.scales(), dq = r.dequantized();
      Fp16Matrix fp16 = r.scalesFp16();
      shape("qweight", qw.rows(), qw.cols(), qw.data().length, cols * 4 / 32, rows);
      shape("qzeros", qz.rows(), qz.cols(), qz.data().length, groups, rows * 4 / 32);
      shape("scales", sc.rows(), sc.cols(), sc.data().length, groups, rows);
      shape("scales_fp16", fp16.rows(), fp16.cols(), fp16.data().length, groups, rows);
      shape("zeros", zeros.rows(), zeros.cols(), zeros.data().length, groups, rows);
      shape("g_idx", gi.rows(), gi.cols(), gi.data().length, 1, cols);
      shape("dequantized", dq.rows(), dq.cols(), dq.data().length, rows, cols);
      for (int k = 0; k < cols; k++) assertEquals(k / 128, gi.data()[k], "g_idx[" + k + "]");
      // gptq_v1 qzeros hold zero - 1; 8 codes of 4 bits per int32.
      for (int row = 0; row < rows; row++) {
        for (int k = 0; k < cols; k++) {
          int g = k / 128;
          int code = nibble(qw.data()[(k / 8) * rows + row], k % 8);
          int zero = nibble(qz.data()[g * (rows / 8) + row / 8], row % 8) + 1;
          assertEquals(zeros.data()[g * rows + row], zero);
          float want = sc.data()[g * rows + row] * (code - zero);
          float got = dq.data()[row * cols + k];
          assertEquals(want, got, 1e-6 * Math.abs(want) + 1e-9, "[" + row + ", " + k + "]");
        }
      }
      assertTrue(r.loss() > 0, "loss " + r.loss());
      assertTrue(r.dampPercent() > 0, "damp " + r.dampPercent());

      // Arrays shorter than their shapes are refused before C reads them.
      GptqException e = assertThrows(GptqException.class,
          () -> ctx.quantizeMatrix(MatrixInput.withActivations(Arrays.copyOf(w, 10), rows, cols, x, n), null));
      assertEquals(Status.INVALID_ARGUMENT, e.status());
      assertTrue(e.getMessage().contains("weights"), e.getMessage());
    }
  }

  static int nibble(int v, int i) {
    return (v >>> (4 * i)) & 15;
  }

  static void shape(String name, long r, long c, int length, long wantR, long wantC) {
    assertEquals(wantR + "x" + wantC + " (" + wantR * wantC + ")", r + "x" + c + " (" + length + ")", name);
  }
}
