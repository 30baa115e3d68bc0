package gptq

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Functions of gptq.h that package gptq reaches through a helper of the
// generated module (bindings/swig/go_runtime.go.in) rather than by their own
// name, and those it leaves out, each with the reason. A function added to
// gptq.h without a Go binding fails TestEveryFunctionIsBound.
var boundThrough = map[string]string{
	"gptq_tokenize":                       "TokenizeIDs",
	"gptq_detokenize":                     "DetokenizeText",
	"gptq_config_convert":                 "ConfigConvertBytes",
	"gptq_matrix_result_qweight_copy":     "MatrixInt32",
	"gptq_matrix_result_qzeros_copy":      "MatrixInt32",
	"gptq_matrix_result_g_idx_copy":       "MatrixInt32",
	"gptq_matrix_result_zeros_copy":       "MatrixInt32",
	"gptq_matrix_result_scales_fp16_copy": "MatrixScalesFP16",
	"gptq_matrix_result_dequantized_copy": "MatrixFloat32",
	"gptq_matrix_result_scales_copy":      "MatrixFloat32",
}

var notBound = map[string]string{
	"gptq_last_error":                "read inside the C wrapper on the failing call's thread (gptq.i)",
	"gptq_clear_error":               "every error is returned, nothing is left to clear",
	"gptq_perplexity":                "deprecated: Context.Evaluate's report holds its numbers",
	"gptq_matrix_result_qweight":     "a borrowed pointer; the _copy accessor gives Go memory",
	"gptq_matrix_result_qzeros":      "a borrowed pointer; the _copy accessor gives Go memory",
	"gptq_matrix_result_scales_fp16": "a borrowed pointer; the _copy accessor gives Go memory",
	"gptq_matrix_result_g_idx":       "a borrowed pointer; the _copy accessor gives Go memory",
	"gptq_matrix_result_dequantized": "a borrowed pointer; the _copy accessor gives Go memory",
	"gptq_matrix_result_scales":      "a borrowed pointer; the _copy accessor gives Go memory",
	"gptq_matrix_result_zeros":       "a borrowed pointer; the _copy accessor gives Go memory",
}

func TestEveryFunctionIsBound(t *testing.T) {
	exports, err := os.ReadFile(filepath.Join("..", "..", "..", "capi", "exports.txt"))
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob("*.go")
	var src strings.Builder
	for _, f := range files {
		if !strings.HasSuffix(f, "_test.go") {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			src.Write(b)
		}
	}
	code := src.String()
	calls := func(name string) bool {
		return regexp.MustCompile(`capi\.` + regexp.QuoteMeta(name) + `\(`).MatchString(code)
	}
	n := 0
	for _, line := range strings.Split(string(exports), "\n") {
		f := strings.TrimSpace(line)
		if f == "" || strings.HasPrefix(f, "#") {
			continue
		}
		n++
		// SWIG's name: gptq_ stripped, first letter upper-cased.
		swig := strings.ToUpper(f[5:6]) + f[6:]
		helper, viaHelper := boundThrough[f]
		_, excused := notBound[f]
		switch {
		case calls(swig) && (viaHelper || excused):
			t.Errorf("%s is called as capi.%s: take it off the lists", f, swig)
		case viaHelper && !calls(helper):
			t.Errorf("%s: package gptq does not call capi.%s", f, helper)
		case !calls(swig) && !viaHelper && !excused:
			t.Errorf("%s has no Go binding: call capi.%s from package gptq (or list it with the reason)", f, swig)
		}
	}
	if n < 40 {
		t.Fatalf("read %d functions from capi/exports.txt", n)
	}
	for f := range boundThrough {
		if !strings.Contains(string(exports), f+"\n") {
			t.Errorf("%s is no longer in gptq.h: take it off boundThrough", f)
		}
	}
	for f := range notBound {
		if !strings.Contains(string(exports), f+"\n") {
			t.Errorf("%s is no longer in gptq.h: take it off notBound", f)
		}
	}
}
