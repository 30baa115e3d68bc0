// The Go side of the crossing benchmark (bench/run_crossing_bench.py): the
// three calls of the protocol in bench/crossing/README.md through package
// gptq. Prints one JSON line.
//
//	go run . <model_dir> <text_file>
package main

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"time"
	"unicode/utf8"

	"libgptq/bindings/go/gptq"
)

const (
	versionCalls  = 1000000
	tokenizeCalls = 200
	newTokens     = 256
)

func median(v []float64) float64 {
	sort.Float64s(v)
	return v[len(v)/2]
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "error:", err)
	os.Exit(1)
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintf(os.Stderr, "usage: %s <model_dir> <text_file>\n", os.Args[0])
		os.Exit(2)
	}
	reps := 15
	if s := os.Getenv("GPTQ_BENCH_REPS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			fail(fmt.Errorf("GPTQ_BENCH_REPS=%q: want an integer >= 1", s))
		}
		reps = n
	}
	all, err := os.ReadFile(os.Args[2])
	if err != nil {
		fail(err)
	}
	end := 1024
	if end > len(all) {
		end = len(all)
	}
	for end < len(all) && !utf8.RuneStart(all[end]) {
		end++
	}
	text := string(all[:end])

	ctx, err := gptq.NewContext(&gptq.RuntimeOptions{Backend: "cpu", Threads: 1})
	if err != nil {
		fail(err)
	}
	defer ctx.Close()
	model, err := ctx.OpenModel(os.Args[1])
	if err != nil {
		fail(err)
	}
	defer model.Close()
	tok, err := model.Tokenizer()
	if err != nil {
		fail(err)
	}
	defer tok.Close()
	session, err := ctx.NewSession(model, &gptq.GenerationOptions{
		Temperature: gptq.Ptr(0.0), MaxNewTokens: newTokens, StopAtEOS: gptq.Ptr(false)})
	if err != nil {
		fail(err)
	}
	defer session.Close()

	var versionNs, tokenizeUs, tokenUs, callbackUs []float64
	checksum := 0
	for r := -1; r < reps; r++ { // r = -1: the warm-up
		t0 := time.Now()
		for i := 0; i < versionCalls; i++ {
			checksum += len(gptq.Version())
		}
		v := float64(time.Since(t0).Nanoseconds()) / versionCalls

		t0 = time.Now()
		for i := 0; i < tokenizeCalls; i++ {
			ids, err := tok.Tokenize(text, 0)
			if err != nil {
				fail(err)
			}
			checksum += len(ids)
		}
		t := time.Since(t0).Seconds() / tokenizeCalls * 1e6

		tokens := 0
		t0 = time.Now()
		err := session.Generate("To create a table", func(piece string, id int32) bool {
			if id >= 0 {
				tokens++
			}
			return true
		})
		g := time.Since(t0).Seconds() / newTokens * 1e6
		if err != nil {
			fail(err)
		}
		if tokens < newTokens {
			fail(fmt.Errorf("generated %d tokens, expected %d", tokens, newTokens))
		}
		// The same generation without a callback: what the callback adds.
		t0 = time.Now()
		if err := session.Generate("To create a table", nil); err != nil {
			fail(err)
		}
		c := g - time.Since(t0).Seconds()/newTokens*1e6
		if r >= 0 {
			callbackUs = append(callbackUs, c)
			versionNs = append(versionNs, v)
			tokenizeUs = append(tokenizeUs, t)
			tokenUs = append(tokenUs, g)
		}
	}
	fmt.Fprintf(os.Stderr, "(checksum %d)\n", checksum)
	fmt.Printf("{\"language\": \"go\", \"version_ns\": %.4f, \"tokenize_us\": %.4f, \"tokenize_bytes\": %d, \"per_token_us\": %.4f, \"callback_us\": %.4f}\n",
		median(versionNs), median(tokenizeUs), len(text), median(tokenUs), median(callbackUs))
}
