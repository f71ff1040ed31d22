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

// Command evaluator scores the model a trainer (test/trainer) wrote, on a
// held-out split it never saw: data from another seed, drawn from the same
// distribution (DATA_SHIFT), scored as a whole and by segment. It reports
// the trainer's artifact and data with its own metrics, in the result
// contract (docs/retraining.md): run it as the result container, after the
// trainer as an init container, so that the ModelVersion carries held-out
// figures rather than the trainer's own.
package main

import (
	"encoding/json"
	"flag"
	"log"
	"os"
	"path"
	"strconv"

	"github.com/aipm-io/aipm-operator/test/ml"
)

func main() {
	store := ml.Store{}
	flag.StringVar(&store.Root, "store", "/models", "Where the model store's claim is mounted.")
	flag.StringVar(&store.Claim, "claim", "models", "The claim's name, for the pvc:// URIs.")
	rows := flag.Int("rows", 2000, "Rows of held-out data.")
	seed := flag.Uint64("seed", 2, "Seed of the held-out data: not the trainer's.")
	termination := flag.String("termination-log", "/dev/termination-log", "Where the result goes.")
	flag.Parse()

	product, target := os.Getenv("AIPM_PRODUCT"), os.Getenv("AIPM_TARGET_VERSION")
	if product == "" || target == "" {
		log.Fatal("AIPM_PRODUCT and AIPM_TARGET_VERSION are required: the operator sets them in a retraining Job")
	}
	shift := 0.0
	if v := os.Getenv("DATA_SHIFT"); v != "" {
		var err error
		if shift, err = strconv.ParseFloat(v, 64); err != nil {
			log.Fatalf("DATA_SHIFT: %v", err)
		}
	}
	dir := ml.ModelDir(product, target)
	b, err := os.ReadFile(store.Path(path.Join(dir, "trainer.json")))
	if err != nil {
		log.Fatalf("the trainer's result: %v", err)
	}
	var result ml.Result
	if err := json.Unmarshal(b, &result); err != nil {
		log.Fatalf("the trainer's result: %v", err)
	}
	model, err := ml.Load(store.Path(path.Join(dir, "model.json")))
	if err != nil {
		log.Fatal(err)
	}
	body, err := os.ReadFile(store.Path(path.Join(dir, "model.json")))
	if err != nil {
		log.Fatal(err)
	}
	// The model scored is the model reported: a file changed since the
	// trainer wrote it is not the model it trained.
	if ml.Digest(body) != result.Artifact.Digest {
		log.Fatalf("model.json has digest %s, the trainer reported %s", ml.Digest(body), result.Artifact.Digest)
	}

	heldOut := ml.Generate(*seed, *rows, shift)
	result.Metrics = map[string]float64{
		"auc":      ml.AUC(model, heldOut),
		"accuracy": ml.Accuracy(model, heldOut),
	}
	for _, segment := range []string{"retail", "business"} {
		if rows := ml.Slice(heldOut, segment); len(rows) > 0 {
			result.Metrics["auc_"+segment] = ml.AUC(model, rows)
		}
	}
	for k, v := range result.Metrics {
		log.Printf("%s %s held out: %s %.4f", product, target, k, v)
	}
	if err := ml.Report(*termination, result); err != nil {
		log.Fatal(err)
	}
}
