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

package retrain

import (
	"encoding/json"
	"math"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"sigs.k8s.io/yaml"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
)

// fieldRule is what the ModelVersion CRD says about one string field.
type fieldRule struct {
	pattern   *regexp.Regexp
	maxLength int
	enum      map[string]bool
}

func (r fieldRule) allows(s string) bool {
	if r.maxLength > 0 && utf8.RuneCountInString(s) > r.maxLength {
		return false
	}
	if r.pattern != nil && !r.pattern.MatchString(s) {
		return false
	}
	return r.enum == nil || r.enum[s]
}

// crdRules reads the generated ModelVersion CRD, so that the check below is
// against what the API server enforces, not against a copy of it.
func crdRules(t testing.TB) map[string]fieldRule {
	raw, err := os.ReadFile("../../config/crd/bases/lifecycle.aipm.io_modelversions.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var crd map[string]any
	if err := yaml.Unmarshal(raw, &crd); err != nil {
		t.Fatal(err)
	}
	dig := func(path ...string) map[string]any {
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
	rule := func(path ...string) fieldRule {
		m := dig(path...)
		var r fieldRule
		if p, ok := m["pattern"].(string); ok {
			r.pattern = regexp.MustCompile(p)
		}
		if n, ok := m["maxLength"].(float64); ok {
			r.maxLength = int(n)
		}
		if e, ok := m["enum"].([]any); ok {
			r.enum = map[string]bool{}
			for _, v := range e {
				r.enum[v.(string)] = true
			}
		}
		return r
	}
	return map[string]fieldRule{
		"uri":           rule("spec", "artifact", "uri"),
		"format":        rule("spec", "artifact", "format"),
		"digest":        rule("spec", "artifact", "digest"),
		"metric":        rule("spec", "metrics", "[]", "name"),
		"value":         rule("spec", "metrics", "[]", "value"),
		"datasetURI":    rule("spec", "lineage", "dataset", "uri"),
		"datasetDigest": rule("spec", "lineage", "dataset", "digest"),
	}
}

// FuzzParseResult feeds termination messages, which a trainer (any code in
// the training image) writes, to ParseResult. A result it accepts must make
// a ModelVersion the API server accepts, and read back the same once
// written out again; anything else must be an error, never a panic.
func FuzzParseResult(f *testing.F) {
	rules := crdRules(f)
	for _, s := range []string{
		`{"artifact":{"uri":"s3://models/fraud/1.0.1/model.onnx","format":"ONNX","digest":"sha256:` + strings.Repeat("a", 64) + `"},"metrics":{"auc":0.947},"dataset":{"uri":"s3://d","digest":"x"}}`,
		`{"artifact":{"uri":"hf://org/model"}}`,
		`{"artifact":{"uri":"s3://x"},"metrics":{"auc":1e308,"tiny":5e-324,"neg":-0}}`,
		`{"artifact":{"uri":"s3://x"},"metrics":{"auc":NaN}}`,
		`{"artifact":{"uri":"s3://x"},"metrics":{"auc":1e400}}`,
		`{"artifact":{"uri":"s3://x"},"extra":true}`,
		`{"artifact":{"uri":"s3://x"}} {"artifact":{"uri":"s3://y"}}`,
		`{"artifact":{"uri":"s3://x"}}garbage`,
		`{"artifact":{"uri":"javascript://x"}}`,
		`{"artifact":{"uri":"s3://x\u0000y"}}`,
		`{"artifact":{"uri":"s3://x","format":"Pickle"}}`,
		`{"artifact":{"uri":"s3://x"},"metrics":{"a b":1}}`,
		`{"artifact":{"uri":"s3://ü"},"metrics":{"ü":1}}`,
		`[` + strings.Repeat(`[`, 10000) + `]`,
		`{"artifact":{"uri":"s3://x"},"dataset":null}`,
		"",
		"   ",
		"null",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, msg string) {
		r, err := ParseResult(msg)
		if err != nil {
			if r != nil {
				t.Fatalf("ParseResult(%q) returned a result and an error", msg)
			}
			return
		}
		if !json.Valid([]byte(strings.TrimSpace(msg))) {
			t.Fatalf("ParseResult accepted %q, which is not one JSON document", msg)
		}
		check := func(field, value string) {
			if !rules[field].allows(value) {
				t.Fatalf("ParseResult accepted %s %q, which the ModelVersion CRD refuses (message %q)", field, value, msg)
			}
		}
		check("uri", r.Artifact.URI)
		if r.Artifact.Format != "" {
			check("format", r.Artifact.Format)
		}
		if r.Artifact.Digest != "" {
			check("digest", r.Artifact.Digest)
		}
		if len(r.Metrics) > 64 {
			t.Fatalf("%d metrics accepted", len(r.Metrics))
		}
		for name, value := range r.Metrics {
			check("metric", name)
			d := lifecyclev1alpha1.DecimalOf(value)
			check("value", string(d))
			back, err := d.Float64()
			if err != nil {
				t.Fatalf("metric %s = %v is stored as %q, which does not read back: %v", name, value, d, err)
			}
			if diff := math.Abs(back - value); diff > 1e-5*math.Abs(value) {
				t.Fatalf("metric %s = %v is stored as %q = %v", name, value, d, back)
			}
		}
		if r.Dataset != nil {
			check("datasetURI", r.Dataset.URI)
			check("datasetDigest", r.Dataset.Digest)
		}

		// Written out and read again, the result is the same result.
		again, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		r2, err := ParseResult(string(again))
		if err != nil {
			t.Fatalf("re-encoded result %s refused: %v", again, err)
		}
		if len(r.Metrics) == 0 {
			r.Metrics = nil // omitempty: an empty map and none are the same result
		}
		if !reflect.DeepEqual(r, r2) {
			t.Fatalf("round trip changed the result: %+v != %+v", r, r2)
		}
	})
}
