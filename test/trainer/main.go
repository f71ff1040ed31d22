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

// Command trainer is a retraining run's trainer: it generates the product's
// current data (test/ml; DATA_SHIFT says how far it has drifted), trains a
// logistic regression on it, and writes the model and the data to the
// model store as <product>/<target version>/model.json and train.csv. Its
// result, in the result contract (docs/retraining.md), goes to its
// termination message and to trainer.json beside the model, where an
// evaluator (test/evaluator) reads it.
//
// It reads the variables the operator gives every retraining container:
// AIPM_PRODUCT, AIPM_TARGET_VERSION and AIPM_TRIGGER.
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
	rows := flag.Int("rows", 4000, "Rows of training data.")
	seed := flag.Uint64("seed", 1, "Seed of the data generator.")
	epochs := flag.Int("epochs", 300, "Passes of gradient descent.")
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

	data := ml.Generate(*seed, *rows, shift)
	model := ml.Train(data, *epochs, 0.5)
	model.Version = target
	dir := ml.ModelDir(product, target)
	body, err := json.MarshalIndent(model, "", "  ")
	if err != nil {
		log.Fatal(err)
	}
	modelDigest, err := ml.WriteFile(store.Path(path.Join(dir, "model.json")), body)
	if err != nil {
		log.Fatal(err)
	}
	dataDigest, err := ml.WriteFile(store.Path(path.Join(dir, "train.csv")), ml.CSV(data))
	if err != nil {
		log.Fatal(err)
	}
	result := ml.Result{
		Artifact: ml.Artifact{URI: store.URI(path.Join(dir, "model.json")), Format: "Custom", Digest: modelDigest},
		Metrics:  map[string]float64{"train_auc": ml.AUC(model, data), "train_accuracy": ml.Accuracy(model, data)},
		Dataset:  &ml.Dataset{URI: store.URI(path.Join(dir, "train.csv")), Digest: dataDigest},
	}
	b, err := json.Marshal(result)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := ml.WriteFile(store.Path(path.Join(dir, "trainer.json")), b); err != nil {
		log.Fatal(err)
	}
	log.Printf("trained %s %s on %d rows (trigger %s, shift %g)", product, target, *rows, os.Getenv("AIPM_TRIGGER"), shift)
	if err := ml.Report(*termination, result); err != nil {
		log.Fatal(err)
	}
}
