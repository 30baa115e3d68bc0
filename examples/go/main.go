// A libgptq program in Go: quantize a model to 4 bits with GPTQ (or load the
// GPTQ checkpoint already in the output folder) and stream a greedy
// continuation of a prompt.
//
//	go run . <model_dir> <calibration.txt> <out_dir> [prompt]
//	go run . ../../demo/docs-llama-tiny ../../demo/text/calib.txt /tmp/tiny-gptq "To create a table"
package main

import (
	"fmt"
	"os"

	"libgptq/bindings/go/gptq"
)

func main() {
	if len(os.Args) < 4 || len(os.Args) > 5 {
		fmt.Fprintf(os.Stderr, "usage: %s <model_dir> <calibration.txt> <out_dir> [prompt]\n", os.Args[0])
		os.Exit(2)
	}
	prompt := "To create a table in PostgreSQL, use the"
	if len(os.Args) == 5 {
		prompt = os.Args[4]
	}
	if err := run(os.Args[1], os.Args[2], os.Args[3], prompt); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func run(modelDir, calib, outDir, prompt string) error {
	ctx, err := gptq.NewContext(nil)
	if err != nil {
		return err
	}
	defer ctx.Close()
	backend, _ := ctx.Backend()
	device, _ := ctx.DeviceName()
	fmt.Printf("libgptq %s on %s (%s)\n", gptq.Version(), backend, device)

	if _, err := os.Stat(outDir); err == nil {
		fmt.Println("loading the GPTQ checkpoint in", outDir)
	} else {
		opts := &gptq.QuantizeOptions{Bits: 4, GroupSize: 128,
			Calibration: &gptq.CalibrationOptions{Files: []string{calib}, NSamples: 16, Seqlen: 128}}
		lastQuarter := uint64(1 << 63)
		_, err := ctx.QuantizeModel(modelDir, outDir, opts, func(stage string, done, total uint64) error {
			percent := uint64(0)
			if total > 0 {
				percent = done * 100 / total
			}
			if stage == "quantize" && percent/25 != lastQuarter {
				lastQuarter = percent / 25
				fmt.Printf("quantizing: %d%%\n", percent)
			}
			return nil // an error would cancel
		})
		if err != nil {
			return err
		}
		fmt.Println("wrote", outDir)
	}

	model, err := ctx.OpenModel(outDir)
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
	err = session.Generate(prompt, func(piece string, id int32) bool {
		fmt.Print(piece)
		return true // false would stop
	})
	fmt.Println()
	return err
}
