/*
Copyright 2026 The aipm-operator Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package v1alpha1_test

import (
	"encoding/json"
	"math"
	"os"
	"regexp"
	"strconv"
	"testing"
	"time"
	"unicode/utf8"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
)

// schemaOf returns the generated CRD's schema of an AIProduct spec field,
// so that these properties hold for what the API server enforces.
func schemaOf(t testing.TB, path ...string) map[string]any {
	raw, err := os.ReadFile("../../config/crd/bases/lifecycle.aipm.io_aiproducts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var crd map[string]any
	if err := yaml.Unmarshal(raw, &crd); err != nil {
		t.Fatal(err)
	}
	cur := crd["spec"].(map[string]any)["versions"].([]any)[0].(map[string]any)["schema"].(map[string]any)["openAPIV3Schema"].(map[string]any)
	for _, p := range path {
		if p == "[]" {
			cur = cur["items"].(map[string]any)
			continue
		}
		cur = cur["properties"].(map[string]any)[p].(map[string]any)
	}
	return cur
}

// admits applies a string schema's maxLength and pattern.
func admits(schema map[string]any, s string) bool {
	if n, ok := schema["maxLength"].(float64); ok && utf8.RuneCountInString(s) > int(n) {
		return false
	}
	if p, ok := schema["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(s) {
		return false
	}
	return true
}

// celFinite is what the Decimal type's CEL rule decides: CEL's double()
// is strconv.ParseFloat, which fails on a value beyond float64's range.
func celFinite(s string) bool {
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

// FuzzDecimal holds every threshold, target and metric value to one
// contract: a Decimal the API server admits reads as a finite number, and a
// finite number the operator writes to status is a Decimal the API server
// admits and reads back as (nearly) the same number.
func FuzzDecimal(f *testing.F) {
	schema := schemaOf(f, "spec", "strategy", "objectives", "[]", "target")
	for _, s := range []string{"0.05", "-3", "+1", "1e-3", ".5", "5.", "1e308", "1e309", "1e999", "-1e999", "1e-999",
		"0x1p-2", "Inf", "NaN", "1_000", " 1", "1e+300", "4.94066e-324", "99999999999999999999999999999999999999e99"} {
		f.Add(s, 0.0)
	}
	for _, x := range []float64{0, math.Copysign(0, -1), 1e308, -math.MaxFloat64, math.SmallestNonzeroFloat64, 0.1, 123456789} {
		f.Add("", x)
	}
	f.Fuzz(func(t *testing.T, s string, x float64) {
		d := lifecyclev1alpha1.Decimal(s)
		v, err := d.Float64()
		if err == nil && (math.IsNaN(v) || math.IsInf(v, 0)) {
			t.Fatalf("Decimal %q read as %v without an error", s, v)
		}
		if admits(schema, s) && celFinite(s) && err != nil {
			t.Fatalf("admitted Decimal %q does not read: %v", s, err)
		}

		if math.IsNaN(x) || math.IsInf(x, 0) {
			return // callers turn these into Unknown before they reach status
		}
		out := lifecyclev1alpha1.DecimalOf(x)
		if !admits(schema, string(out)) || !celFinite(string(out)) {
			t.Fatalf("DecimalOf(%v) = %q, which the API server refuses", x, out)
		}
		back, err := out.Float64()
		if err != nil {
			t.Fatalf("DecimalOf(%v) = %q does not read back: %v", x, out, err)
		}
		if math.Abs(back-x) > 5e-6*math.Abs(x) {
			t.Fatalf("DecimalOf(%v) = %q reads back as %v", x, out, back)
		}
		if again := lifecyclev1alpha1.DecimalOf(back); again != out {
			t.Fatalf("DecimalOf is not stable: %v -> %q -> %v -> %q", x, out, back, again)
		}
	})
}

// FuzzDuration checks the duration fields: whatever their pattern admits
// decodes the way the operator decodes it (metav1.Duration, from JSON), is
// never negative, and an overflow is an error, never a wrapped value. The
// CEL bounds, which call duration() and so fail on the same overflow, are
// proven in the admission table.
func FuzzDuration(f *testing.F) {
	schema := schemaOf(f, "spec", "strategy", "evaluationInterval")
	for _, s := range []string{"1m", "30s", "1h30m", "0s", "1.5h", "-5m", "9999999999h", "2562047h47m16.854775807s",
		"2562047h47m16.854775808s", "1e3s", "1µs", "5", "", "00000000000000000000000000001h", ".5s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		raw, _ := json.Marshal(s)
		var d metav1.Duration
		jerr := json.Unmarshal(raw, &d)
		pd, perr := time.ParseDuration(s)
		if (jerr == nil) != (perr == nil) || (jerr == nil && d.Duration != pd) {
			t.Fatalf("%q: the operator decodes %v (%v), time.ParseDuration %v (%v)", s, d.Duration, jerr, pd, perr)
		}
		if !admits(schema, s) {
			return
		}
		if perr != nil {
			return // CEL's duration() fails alike, and admission refuses it
		}
		if pd < 0 {
			t.Fatalf("admitted duration %q is negative: %v", s, pd)
		}
		// The API server stores what it admitted; the operator reads it back
		// from JSON whenever it lists products.
		out, err := json.Marshal(metav1.Duration{Duration: pd})
		if err != nil {
			t.Fatal(err)
		}
		var back metav1.Duration
		if err := json.Unmarshal(out, &back); err != nil || back.Duration != pd {
			t.Fatalf("%q -> %s -> %v, %v", s, out, back.Duration, err)
		}
	})
}
