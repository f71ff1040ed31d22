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

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/aipm-io/aipm-operator/internal/retrain"
)

// The trainer then the evaluator, as a retraining Job runs them: each
// termination message is a result the operator accepts, and the
// evaluator's names the trainer's model with held-out figures.
func TestTrainThenEvaluate(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	for _, cmd := range []string{"trainer", "evaluator"} {
		build := exec.Command("go", "build", "-o", filepath.Join(dir, cmd), "../"+cmd)
		if out, err := build.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", cmd, err, out)
		}
	}
	results := map[string]*retrain.Result{}
	for _, cmd := range []string{"trainer", "evaluator"} {
		msg := filepath.Join(dir, cmd+".msg")
		run := exec.Command(filepath.Join(dir, cmd), "-store", store, "-termination-log", msg)
		run.Env = append(os.Environ(), "AIPM_PRODUCT=churn", "AIPM_TARGET_VERSION=1.0.1", "DATA_SHIFT=1.5")
		if out, err := run.CombinedOutput(); err != nil {
			t.Fatalf("%s: %v\n%s", cmd, err, out)
		}
		b, err := os.ReadFile(msg)
		if err != nil {
			t.Fatal(err)
		}
		r, err := retrain.ParseResult(string(b))
		if err != nil {
			t.Fatalf("%s's termination message is refused: %v\n%s", cmd, err, b)
		}
		results[cmd] = r
	}
	tr, ev := results["trainer"], results["evaluator"]
	if want := "pvc://models/churn/1.0.1/model.json"; ev.Artifact.URI != want || tr.Artifact.URI != want {
		t.Fatalf("artifact %q and %q, want %q", tr.Artifact.URI, ev.Artifact.URI, want)
	}
	if ev.Artifact.Digest != tr.Artifact.Digest || ev.Dataset == nil || ev.Dataset.Digest != tr.Dataset.Digest {
		t.Fatalf("the evaluator reports another model or data than the trainer: %+v vs %+v", ev, tr)
	}
	for _, m := range []string{"auc", "accuracy", "auc_retail", "auc_business"} {
		if _, ok := ev.Metrics[m]; !ok {
			t.Errorf("the evaluator reports no %s: %v", m, ev.Metrics)
		}
	}
	if ev.Metrics["auc"] < 0.8 {
		t.Errorf("held-out auc %.3f: the model did not learn", ev.Metrics["auc"])
	}

	// A model changed after training is not the one the trainer reported.
	if err := os.WriteFile(filepath.Join(store, "churn", "1.0.1", "model.json"), []byte(`{"features":["amount"],"weights":[1]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	run := exec.Command(filepath.Join(dir, "evaluator"), "-store", store, "-termination-log", filepath.Join(dir, "again.msg"))
	run.Env = append(os.Environ(), "AIPM_PRODUCT=churn", "AIPM_TARGET_VERSION=1.0.1")
	if out, err := run.CombinedOutput(); err == nil {
		t.Fatalf("the evaluator scored a model the trainer did not write:\n%s", out)
	}
}
