// One matrix: the packed tensors have the checkpoint's shapes, and unpacking
// qweight, qzeros and the scales gives back the dequantized weights.
using System;
using LibGptq;
using NUnit.Framework;

namespace LibGptq.Tests {

[TestFixture]
public class MatrixTests {
  static float[] Gaussian(Random rng, int n, double scale) {
    var v = new float[n];
    for (int i = 0; i < n; i++) {
      double u1 = 1.0 - rng.NextDouble(), u2 = rng.NextDouble();
      v[i] = (float)(scale * Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
    }
    return v;
  }

  [Test]
  public void QuantizeMatrixGivesThePackedTensors() {
    const int rows = 64, cols = 256, n = 512, groups = cols / 128;
    var rng = new Random(1);
    var input = new MatrixInput { Rows = rows, Cols = cols, N = n, Weights = Gaussian(rng, rows * cols, 0.02),
                                  Activations = Gaussian(rng, n * cols, 1) };
    using (var ctx = Support.CpuContext())
    using (var r = ctx.QuantizeMatrix(input, new QuantizeOptions { Bits = 4, GroupSize = 128, Sym = false })) {
      var qw = r.QWeight();
      var qz = r.QZeros();
      var sc = r.Scales();
      var gi = r.GIdx();
      var dq = r.Dequantized();
      var fp16 = r.ScalesFp16();
      var zeros = r.Zeros();
      Shape("qweight", qw, cols * 4 / 32, rows);
      Shape("qzeros", qz, groups, rows * 4 / 32);
      Shape("scales", sc, groups, rows);
      Shape("scales_fp16", fp16, groups, rows);
      Shape("zeros", zeros, groups, rows);
      Shape("g_idx", gi, 1, cols);
      Shape("dequantized", dq, rows, cols);
      for (int k = 0; k < cols; k++) Assert.AreEqual(k / 128, gi.Data[k], "g_idx");
      // gptq_v1 qzeros hold zero - 1; 8 codes of 4 bits per int32.
      Func<int, int, int> nibble = (v, i) => (v >> (4 * i)) & 15;
      for (int row = 0; row < rows; row++) {
        for (int k = 0; k < cols; k++) {
          int g = k / 128;
          int code = nibble(qw.Data[(k / 8) * rows + row], k % 8);
          int zero = nibble(qz.Data[g * (rows / 8) + row / 8], row % 8) + 1;
          Assert.AreEqual(zeros.Data[g * rows + row], zero);
          float want = sc.Data[g * rows + row] * (code - zero);
          float got = dq.Data[row * cols + k];
          Assert.That(Math.Abs(got - want) <= 1e-6 * Math.Abs(want) + 1e-9, "[{0}, {1}]: {2} vs {3}", row, k, got, want);
        }
      }
      Assert.Greater(r.Loss, 0);
      Assert.Greater(r.DampPercent, 0);
    }
  }

  [Test]
  public void MatrixShapesAreCheckedBeforeTheCall() {
    using (var ctx = Support.CpuContext()) {
      var input = new MatrixInput { Rows = 32, Cols = 128, Weights = new float[10] };
      var e = Assert.Throws<ArgumentException>(() => ctx.RtnMatrix(input));
      StringAssert.Contains("Weights", e.Message);
    }
  }

  static void Shape<T>(string name, Matrix<T> m, long rows, long cols) {
    Assert.AreEqual(new[] { rows, cols, rows * cols }, new[] { m.Rows, m.Cols, m.Data.LongLength }, name);
  }
}

}
