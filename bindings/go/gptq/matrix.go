package gptq

import (
	"fmt"
	"runtime"
	"sync"

	"libgptq/bindings/go/internal/capi"
)

// MatrixResult is one quantized weight matrix (gptq_quantize_matrix,
// experimental in gptq.h): its checkpoint tensors, dequantized weights and
// statistics. Immutable: usable from several goroutines.
type MatrixResult struct {
	mu sync.RWMutex
	h  capi.SwigcptrStruct_SS_gptq_matrix_result
}

// Int32Matrix and friends are row-major arrays with their shape.
type Int32Matrix struct {
	Data       []int32
	Rows, Cols int64
}

type Float32Matrix struct {
	Data       []float32
	Rows, Cols int64
}

type Uint16Matrix struct {
	Data       []uint16
	Rows, Cols int64
}

// MatrixInput is the layer to quantize: W [Rows, Cols] row-major and the
// layer's inputs as either Hessian [Cols, Cols] or Activations [N, Cols].
type MatrixInput struct {
	Weights     []float32
	Rows, Cols  int64
	Hessian     []float32
	Activations []float32
	N           int64
}

func (in *MatrixInput) check() error {
	bad := func(what string, got int, want int64) error {
		return &Error{Status: StatusInvalidArgument,
			Message: fmt.Sprintf("MatrixInput.%s has %d values, its shape needs %d", what, got, want)}
	}
	if in.Rows > 0 && in.Cols > 0 && int64(len(in.Weights)) != in.Rows*in.Cols {
		return bad("Weights", len(in.Weights), in.Rows*in.Cols)
	}
	if in.Hessian != nil && int64(len(in.Hessian)) != in.Cols*in.Cols {
		return bad("Hessian", len(in.Hessian), in.Cols*in.Cols)
	}
	if in.Activations != nil && int64(len(in.Activations)) != in.N*in.Cols {
		return bad("Activations", len(in.Activations), in.N*in.Cols)
	}
	return nil
}

// QuantizeMatrix runs GPTQ on one matrix; opts is a *QuantizeOptions, a
// RawConfig or nil.
func (c *Context) QuantizeMatrix(in MatrixInput, opts Config) (*MatrixResult, error) {
	return c.matrix(in, opts, false)
}

// RTNMatrix rounds one matrix to nearest on the same grid (no Hessian).
func (c *Context) RTNMatrix(in MatrixInput, opts Config) (*MatrixResult, error) {
	return c.matrix(in, opts, true)
}

func (c *Context) matrix(in MatrixInput, opts Config, rtn bool) (*MatrixResult, error) {
	h, err := c.handle()
	if err != nil {
		return nil, err
	}
	if err := in.check(); err != nil {
		return nil, err
	}
	js, err := toJSON(opts)
	if err != nil {
		return nil, err
	}
	var r capi.SwigcptrStruct_SS_gptq_matrix_result
	if rtn {
		err = capi.Rtn_matrix(h, in.Weights, in.Rows, in.Cols, js, &r)
	} else {
		err = capi.Quantize_matrix(h, in.Weights, in.Rows, in.Cols, in.Hessian, in.Activations, in.N, js, &r)
	}
	runtime.KeepAlive(c)
	if err != nil {
		return nil, wrap(err)
	}
	res := &MatrixResult{h: r}
	runtime.SetFinalizer(res, (*MatrixResult).Close)
	return res, nil
}

// Close frees the result. Closing twice is a no-op.
func (r *MatrixResult) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.h != 0 {
		capi.Matrix_result_destroy(r.h)
		r.h = 0
	}
	runtime.SetFinalizer(r, nil)
	return nil
}

func (r *MatrixResult) use(f func(capi.SwigcptrStruct_SS_gptq_matrix_result) error) error {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.h == 0 {
		return errClosed("MatrixResult")
	}
	return wrap(f(r.h))
}

func (r *MatrixResult) int32s(which string) (m Int32Matrix, err error) {
	err = r.use(func(h capi.SwigcptrStruct_SS_gptq_matrix_result) (err error) {
		m.Data, m.Rows, m.Cols, err = capi.MatrixInt32(h, which)
		return
	})
	return
}

func (r *MatrixResult) float32s(which string) (m Float32Matrix, err error) {
	err = r.use(func(h capi.SwigcptrStruct_SS_gptq_matrix_result) (err error) {
		m.Data, m.Rows, m.Cols, err = capi.MatrixFloat32(h, which)
		return
	})
	return
}

// QWeight is int32 [cols*bits/32, rows], as a Hugging Face GPTQ checkpoint.
func (r *MatrixResult) QWeight() (Int32Matrix, error) { return r.int32s("qweight") }

// QZeros is int32 [G, rows*bits/32].
func (r *MatrixResult) QZeros() (Int32Matrix, error) { return r.int32s("qzeros") }

// GIdx is int32 [cols] (shape [1, cols]).
func (r *MatrixResult) GIdx() (Int32Matrix, error) { return r.int32s("g_idx") }

// Zeros are the true zero points int32 [G, rows].
func (r *MatrixResult) Zeros() (Int32Matrix, error) { return r.int32s("zeros") }

// Dequantized is float32 [rows, cols].
func (r *MatrixResult) Dequantized() (Float32Matrix, error) { return r.float32s("dequantized") }

// Scales is float32 [G, rows].
func (r *MatrixResult) Scales() (Float32Matrix, error) { return r.float32s("scales") }

// ScalesFP16 is the checkpoint's scales, IEEE half bits [G, rows].
func (r *MatrixResult) ScalesFP16() (m Uint16Matrix, err error) {
	err = r.use(func(h capi.SwigcptrStruct_SS_gptq_matrix_result) (err error) {
		m.Data, m.Rows, m.Cols, err = capi.MatrixScalesFP16(h)
		return
	})
	return
}

// Loss is the GPTQ loss (0 for RTN).
func (r *MatrixResult) Loss() (v float64, err error) {
	err = r.use(func(h capi.SwigcptrStruct_SS_gptq_matrix_result) error { return capi.Matrix_result_loss(h, &v) })
	return
}

// DampPercent is the damping finally used.
func (r *MatrixResult) DampPercent() (v float64, err error) {
	err = r.use(func(h capi.SwigcptrStruct_SS_gptq_matrix_result) error {
		return capi.Matrix_result_damp_percent(h, &v)
	})
	return
}
