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

package ml

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
)

func TestTrainLearnsAndDriftHurts(t *testing.T) {
	before := Train(Generate(1, 2000, 0), 300, 0.5)
	heldOut := Generate(2, 2000, 0)
	if auc := AUC(before, heldOut); auc < 0.85 {
		t.Fatalf("held-out AUC %.3f, want a model that learned (>= 0.85)", auc)
	}
	drifted := Generate(3, 2000, 1.5)
	stale := AUC(before, drifted)
	retrained := AUC(Train(Generate(4, 2000, 1.5), 300, 0.5), drifted)
	if retrained <= stale+0.05 {
		t.Fatalf("after drift the stale model scores %.3f and a retrained one %.3f: retraining should help", stale, retrained)
	}
}

func TestAUC(t *testing.T) {
	m := &Model{Features: []string{"x"}, Weights: []float64{1}}
	for _, tc := range []struct {
		name string
		rows []Row
		want float64
	}{
		{"perfect", []Row{{X: []float64{-1}, Y: 0}, {X: []float64{1}, Y: 1}}, 1},
		{"inverted", []Row{{X: []float64{1}, Y: 0}, {X: []float64{-1}, Y: 1}}, 0},
		{"ties count half", []Row{{X: []float64{0}, Y: 0}, {X: []float64{0}, Y: 1}}, 0.5},
	} {
		if got := AUC(m, tc.rows); got != tc.want {
			t.Errorf("%s: AUC %v, want %v", tc.name, got, tc.want)
		}
	}
	if got := AUC(m, []Row{{X: []float64{1}, Y: 1}}); !math.IsNaN(got) {
		t.Errorf("one class only: AUC %v, want NaN", got)
	}
}

func TestLoadRefusesBrokenModels(t *testing.T) {
	dir := t.TempDir()
	for name, m := range map[string]Model{
		"no weights":   {Features: Features},
		"one too many": {Features: []string{"a"}, Weights: []float64{1, 2}},
	} {
		p := filepath.Join(dir, "m.json")
		b, _ := json.Marshal(m)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if _, err := Load(p); err == nil {
			t.Errorf("%s: loaded", name)
		}
	}
}
