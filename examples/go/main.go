// A libgptq program in Go: quantize a model (or load a quantized one) and
// stream a greedy generation from it.
//
//	go run . -model ../../demo/docs-llama-tiny -calib ../../demo/text/calib.txt -out /tmp/tiny-gptq
//	go run . -model /tmp/tiny-gptq            # load the quantized model only
package main

import (
	"flag"
	"fmt"
	"os"

	"libgptq/bindings/go/gptq"
)

func main() {
	model := flag.String("model", "", "model directory (float, or GPTQ when -out is not given)")
	out := flag.String("out", "", "quantize -model into this directory first")
	calib := flag.String("calib", "", "calibration text for -out")
	prompt := flag.String("prompt", "The database", "prompt to continue")
	flag.Parse()
	if err := run(*model, *out, *calib, *prompt); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func run(modelDir, outDir, calib, prompt string) error {
	ctx, err := gptq.NewContext(&gptq.RuntimeOptions{Backend: "cpu"})
	if err != nil {
		return err
	}
	defer ctx.Close()

	if outDir != "" {
		opts := &gptq.QuantizeOptions{Bits: 4, GroupSize: 128,
			Calibration: &gptq.CalibrationOptions{Files: []string{calib}, NSamples: 16, Seqlen: 128}}
		shown := ""
		_, err := ctx.QuantizeModel(modelDir, outDir, opts, func(stage string, done, total uint64) error {
			if line := fmt.Sprintf("\r%s: %3d%%", stage, done*100/(total+1)); line != shown {
				fmt.Fprint(os.Stderr, line)
				shown = line
			}
			return nil
		})
		fmt.Fprintln(os.Stderr)
		if err != nil {
			return err
		}
		modelDir = outDir
	}

	model, err := ctx.OpenModel(modelDir)
	if err != nil {
		return err
	}
	defer model.Close()
	session, err := ctx.NewSession(model, &gptq.GenerationOptions{MaxNewTokens: 24, Temperature: gptq.Ptr(0.0)})
	if err != nil {
		return err
	}
	defer session.Close()
	fmt.Print(prompt)
	tokens := 0
	err = session.Generate(prompt, func(piece string, id int32) bool {
		fmt.Print(piece)
		tokens++
		return true
	})
	fmt.Println()
	if err == nil && tokens == 0 {
		err = fmt.Errorf("no token generated")
	}
	return err
}
