package gptq_test

import (
	"fmt"
	"strings"
	"testing"

	"libgptq/bindings/go/gptq"
)

func TestVersions(t *testing.T) {
	var major, minor, patch uint32
	if _, err := fmt.Sscanf(gptq.Version(), "%d.%d.%d", &major, &minor, &patch); err != nil {
		t.Fatalf("Version() = %q: %v", gptq.Version(), err)
	}
	if got, want := gptq.VersionNumber(), major*10000+minor*100+patch; got != want {
		t.Errorf("VersionNumber() = %d, want %d from %q", got, want, gptq.Version())
	}
	if gptq.ABIVersion() != 0 {
		t.Errorf("ABIVersion() = %d, want 0 (libgptq.so.0)", gptq.ABIVersion())
	}
}

func TestConfigConvert(t *testing.T) {
	full, err := gptq.ConfigConvert(gptq.ConfigQuantize, []byte(`{"bits": 3}`), gptq.EncodingJSON, gptq.EncodingJSON)
	must(t, err)
	if !strings.Contains(string(full), `"group_size"`) || !strings.Contains(string(full), `"bits": 3`) {
		t.Errorf("defaults not filled in: %s", full)
	}
	bin, err := gptq.ConfigConvert(gptq.ConfigQuantize, full, gptq.EncodingJSON, gptq.EncodingBinary)
	must(t, err)
	back, err := gptq.ConfigConvert(gptq.ConfigQuantize, bin, gptq.EncodingBinary, gptq.EncodingJSON)
	must(t, err)
	if string(back) != string(full) {
		t.Errorf("JSON -> binary -> JSON changed it:\n%s\n%s", full, back)
	}
	_, err = gptq.ConfigConvert(gptq.ConfigQuantize, []byte(`{"bits": 5}`), gptq.EncodingJSON, gptq.EncodingJSON)
	if gptq.StatusOf(err) != gptq.StatusInvalidArgument || !strings.Contains(err.Error(), "bits") {
		t.Errorf(`{"bits": 5}: got %v, want an invalid argument naming bits`, err)
	}
	if s := gptq.ConfigSchema(); !strings.Contains(s, "table QuantizeConfig") {
		t.Errorf("ConfigSchema() has no QuantizeConfig table: %.200s", s)
	}
}
