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

// Package ml is the machine learning of the test containers: a dataset
// generated from a seed (so that nothing is downloaded and every run sees
// the same rows), logistic regression trained by gradient descent, and the
// scores an evaluator reports. The trainer, the evaluator and the model
// server (test/trainer, test/evaluator, test/modelserver) share it, so that
// a model one of them writes is a model the others read.
package ml

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// Features are the model's inputs, in order.
var Features = []string{"amount", "tenure", "activity"}

// Row is one example: its features, its label, and the segment it belongs
// to, by which an evaluator scores slices.
type Row struct {
	X       []float64
	Y       float64
	Segment string
}

// Generate makes n rows from seed. shift moves the amount feature's mean:
// data after drift. The label depends on the features through fixed
// weights, with noise, so a model trained on enough rows reaches an AUC
// well above chance and one trained before a shift scores worse after it.
func Generate(seed uint64, n int, shift float64) []Row {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	rows := make([]Row, n)
	for i := range rows {
		amount := r.NormFloat64() + shift
		tenure := r.NormFloat64()
		activity := r.NormFloat64()
		segment := "retail"
		if r.Float64() < 0.3 {
			segment = "business"
			amount += 0.5
		}
		// After a shift large amounts stop being suspicious: the relation
		// between amount and label changes, so the old model degrades.
		wAmount := 1.5
		if shift != 0 {
			wAmount = -1.5
		}
		z := wAmount*amount - 1.0*tenure + 0.8*activity + 0.3*r.NormFloat64()
		y := 0.0
		if r.Float64() < sigmoid(z) {
			y = 1
		}
		rows[i] = Row{X: []float64{amount, tenure, activity}, Y: y, Segment: segment}
	}
	return rows
}

// Model is a logistic regression, as the trainer writes it.
type Model struct {
	Features []string  `json:"features"`
	Weights  []float64 `json:"weights"`
	Bias     float64   `json:"bias"`
	// Version is the model version the trainer produced it as.
	Version string `json:"version,omitempty"`
}

// Train fits a model by full-batch gradient descent.
func Train(rows []Row, epochs int, rate float64) *Model {
	m := &Model{Features: Features, Weights: make([]float64, len(Features))}
	grad := make([]float64, len(Features))
	for range epochs {
		clear(grad)
		gb := 0.0
		for _, row := range rows {
			e := m.Predict(row.X) - row.Y
			for j, x := range row.X {
				grad[j] += e * x
			}
			gb += e
		}
		n := float64(len(rows))
		for j := range m.Weights {
			m.Weights[j] -= rate * grad[j] / n
		}
		m.Bias -= rate * gb / n
	}
	return m
}

// Predict is the probability of the positive class.
func (m *Model) Predict(x []float64) float64 {
	z := m.Bias
	for j, w := range m.Weights {
		z += w * x[j]
	}
	return sigmoid(z)
}

// Check says whether the model can score rows of width features.
func (m *Model) Check() error {
	if len(m.Weights) == 0 || len(m.Weights) != len(m.Features) {
		return fmt.Errorf("a model has one weight per feature; this one has %d weights for %d features", len(m.Weights), len(m.Features))
	}
	for _, w := range append([]float64{m.Bias}, m.Weights...) {
		if math.IsNaN(w) || math.IsInf(w, 0) {
			return errors.New("the model has a weight that is not a finite number")
		}
	}
	return nil
}

// Load reads a model file.
func Load(path string) (*Model, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m Model
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &m, m.Check()
}

// AUC is the area under the ROC curve of the model's scores on rows: the
// chance that a random positive scores above a random negative.
func AUC(m *Model, rows []Row) float64 {
	type scored struct{ s, y float64 }
	ss := make([]scored, len(rows))
	for i, r := range rows {
		ss[i] = scored{m.Predict(r.X), r.Y}
	}
	sort.Slice(ss, func(i, j int) bool { return ss[i].s < ss[j].s })
	// Rank-sum (Mann-Whitney), ties sharing their mean rank.
	var pos, neg, rankSum float64
	for i := 0; i < len(ss); {
		j := i
		for j < len(ss) && ss[j].s == ss[i].s {
			j++
		}
		mean := float64(i+j+1) / 2
		for k := i; k < j; k++ {
			if ss[k].y == 1 {
				pos++
				rankSum += mean
			} else {
				neg++
			}
		}
		i = j
	}
	if pos == 0 || neg == 0 {
		return math.NaN()
	}
	return (rankSum - pos*(pos+1)/2) / (pos * neg)
}

// Accuracy is the share of rows the model classifies right at 0.5.
func Accuracy(m *Model, rows []Row) float64 {
	right := 0
	for _, r := range rows {
		if (m.Predict(r.X) >= 0.5) == (r.Y == 1) {
			right++
		}
	}
	return float64(right) / float64(len(rows))
}

// Slice is the rows of one segment.
func Slice(rows []Row, segment string) []Row {
	var out []Row
	for _, r := range rows {
		if r.Segment == segment {
			out = append(out, r)
		}
	}
	return out
}

func sigmoid(z float64) float64 { return 1 / (1 + math.Exp(-z)) }

// Result is the result contract of a retraining run (docs/retraining.md):
// what a trainer or evaluator writes to its termination message.
type Result struct {
	Artifact Artifact           `json:"artifact"`
	Metrics  map[string]float64 `json:"metrics,omitempty"`
	Dataset  *Dataset           `json:"dataset,omitempty"`
}

// Artifact is the model a run produced.
type Artifact struct {
	URI    string `json:"uri"`
	Format string `json:"format,omitempty"`
	Digest string `json:"digest,omitempty"`
}

// Dataset is the data a model was trained on.
type Dataset struct {
	URI    string `json:"uri,omitempty"`
	Digest string `json:"digest,omitempty"`
}

// Store is where runs keep models and data: a claim mounted at Root, so
// that a file at Root/<path> is pvc://<Claim>/<path> to the operator and to
// the model server.
type Store struct {
	Root, Claim string
}

// Path is the file of rel inside the store.
func (s Store) Path(rel string) string { return filepath.Join(s.Root, filepath.Clean("/"+rel)) }

// URI is the pvc:// URI of rel.
func (s Store) URI(rel string) string {
	return "pvc://" + s.Claim + "/" + strings.TrimPrefix(path.Clean("/"+rel), "/")
}

// ModelDir is where a product's version keeps its files.
func ModelDir(product, version string) string { return path.Join(product, version) }

// WriteFile writes body and returns its digest, sha256:<hex>.
func WriteFile(p string, body []byte) (string, error) {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(p, body, 0o644); err != nil {
		return "", err
	}
	return Digest(body), nil
}

// Digest is sha256:<hex> of body.
func Digest(body []byte) string {
	sum := sha256.Sum256(body)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// CSV is rows as text, one row a line: the features, the label, the
// segment.
func CSV(rows []Row) []byte {
	var b strings.Builder
	b.WriteString(strings.Join(Features, ",") + ",label,segment\n")
	for _, r := range rows {
		for _, x := range r.X {
			b.WriteString(strconv.FormatFloat(x, 'g', 6, 64))
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, "%g,%s\n", r.Y, r.Segment)
	}
	return []byte(b.String())
}

// Report writes r where the kubelet reads a termination message, and to
// standard output for the logs.
func Report(terminationLog string, r Result) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	fmt.Println(string(b))
	return os.WriteFile(terminationLog, b, 0o644)
}
