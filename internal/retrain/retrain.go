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

// Package retrain renders retraining Jobs and reads what they report. Job
// names derive from the trigger alone, so that a restart, a requeue or a
// second replica asking for the same run asks for the same name, and the
// API server refuses the duplicate.
package retrain

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"sort"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/version"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/serving"
)

// Labels and annotations on retraining Jobs.
const (
	LabelTrigger            = "lifecycle.aipm.io/trigger"
	AnnotationTargetVersion = "lifecycle.aipm.io/target-version"
	AnnotationTargetName    = "lifecycle.aipm.io/target-name"
	AnnotationParentVersion = "lifecycle.aipm.io/parent-version"
	AnnotationTriggerKey    = "lifecycle.aipm.io/trigger-key"
)

// Environment variables the trainer receives.
const (
	EnvProduct         = "AIPM_PRODUCT"
	EnvNamespace       = "AIPM_NAMESPACE"
	EnvTrigger         = "AIPM_TRIGGER"
	EnvParentVersion   = "AIPM_PARENT_VERSION"
	EnvParentModelURI  = "AIPM_PARENT_MODEL_URI"
	EnvTargetVersion   = "AIPM_TARGET_VERSION"
	EnvResultContainer = "AIPM_RESULT_CONTAINER"
)

// Trigger is what asked for a run, and the key that identifies the ask: the
// schedule tick, the drift episode's start, or the manual request's value.
type Trigger struct {
	Kind lifecyclev1alpha1.TrainingTrigger
	Key  string
}

// JobName is the one name a trigger's Job can have.
func JobName(product string, t Trigger) string {
	sum := sha256.Sum256([]byte(product + "\x00" + string(t.Kind) + "\x00" + t.Key))
	suffix := "-" + strings.ToLower(string(t.Kind)) + "-" + hex.EncodeToString(sum[:])[:10]
	// Job names become a pod label value: 63 characters at most.
	prefix := product
	if max := 63 - len(suffix); len(prefix) > max {
		prefix = strings.TrimRight(prefix[:max], "-.")
	}
	return prefix + suffix
}

// NextVersion is the version a new run produces: the patch after the highest
// semantic version of the product's versions, or 0.1.0 for the first.
func NextVersion(versions []lifecyclev1alpha1.ModelVersion) string {
	var best *version.Version
	for _, mv := range versions {
		v, err := version.ParseSemantic(strings.TrimPrefix(mv.Spec.Version, "v"))
		if err != nil {
			continue
		}
		if best == nil || v.GreaterThan(best) {
			best = v
		}
	}
	if best == nil {
		return "0.1.0"
	}
	return fmt.Sprintf("%d.%d.%d", best.Major(), best.Minor(), best.Patch()+1)
}

// VersionName is the ModelVersion object name for a product's semver, such
// as fraud-detector-v1-2-3.
func VersionName(product, semver string) string {
	return serving.Shorten(product+"-v"+strings.NewReplacer(".", "-", "+", "-").Replace(semver), 253)
}

// Run is what a Job needs to know.
type Run struct {
	Name          string
	Trigger       Trigger
	Parent        *lifecyclev1alpha1.ModelVersion
	TargetVersion string
}

// Job renders the retraining Job from the product's template, hardened by
// Restrict, or returns a RefusedError when the pod it describes breaks pol.
func Job(p *lifecyclev1alpha1.AIProduct, run Run, pol Policy) (*batchv1.Job, error) {
	spec := p.Spec.Delivery.Retraining
	if spec.Template == nil {
		return nil, &RefusedError{Reasons: []string{"backend Job needs spec.delivery.retraining.template"}}
	}
	tpl := spec.Template.DeepCopy()
	labels := Labels(p.Name, run.Trigger)
	job := &batchv1.Job{
		TypeMeta: metav1.TypeMeta{APIVersion: "batch/v1", Kind: "Job"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        run.Name,
			Namespace:   p.Namespace,
			Labels:      Merge(tpl.Labels, labels),
			Annotations: Merge(tpl.Annotations, Annotations(p.Name, run)),
		},
		Spec: tpl.Spec,
	}
	if err := harden(job, labels, pol); err != nil {
		return nil, err
	}
	pod := &job.Spec.Template
	result := ResultContainer(p, pod.Spec.Containers)
	// Init containers too: a trainer that runs before an evaluator needs to
	// know which version it trains as much as the evaluator does.
	for i := range pod.Spec.InitContainers {
		pod.Spec.InitContainers[i].Env = append(pod.Spec.InitContainers[i].Env, Env(p, run, result)...)
	}
	for i := range pod.Spec.Containers {
		c := &pod.Spec.Containers[i]
		c.Env = append(c.Env, Env(p, run, result)...)
		if c.Name == result && c.TerminationMessagePolicy == "" {
			c.TerminationMessagePolicy = corev1.TerminationMessageReadFile
		}
	}
	return job, nil
}

// Labels are what the operator finds a run's workload and its pods by.
func Labels(product string, t Trigger) map[string]string {
	return map[string]string{
		lifecyclev1alpha1.LabelProduct: product,
		serving.LabelManagedBy:         serving.ManagedBy,
		LabelTrigger:                   string(t.Kind),
	}
}

// Annotations tell what a run's spec tells, so that a workload read alone
// says which version it trains, whoever wrote the template.
func Annotations(product string, run Run) map[string]string {
	a := map[string]string{
		AnnotationTargetVersion: run.TargetVersion,
		AnnotationTargetName:    VersionName(product, run.TargetVersion),
		AnnotationTriggerKey:    run.Trigger.Key,
	}
	if run.Parent != nil {
		a[AnnotationParentVersion] = run.Parent.Name
	}
	return a
}

// Env is what every trainer container of a run is told about the run,
// whatever engine runs it.
func Env(p *lifecyclev1alpha1.AIProduct, run Run, result string) []corev1.EnvVar {
	parent, parentURI := "", ""
	if run.Parent != nil {
		parent, parentURI = run.Parent.Name, run.Parent.Spec.Artifact.URI
	}
	return []corev1.EnvVar{
		{Name: EnvProduct, Value: p.Name},
		{Name: EnvNamespace, Value: p.Namespace},
		{Name: EnvTrigger, Value: string(run.Trigger.Kind)},
		{Name: EnvParentVersion, Value: parent},
		{Name: EnvParentModelURI, Value: parentURI},
		{Name: EnvTargetVersion, Value: run.TargetVersion},
		{Name: EnvResultContainer, Value: result},
	}
}

// Harden is what every Job the operator creates from a team's template
// goes through: retraining and evaluation alike.
func Harden(job *batchv1.Job, labels map[string]string, pol Policy) error {
	return harden(job, labels, pol)
}

// harden restricts the pod of job and checks it against pol, then labels
// it: what every retraining Job goes through before the operator creates it
// with its own rights, whoever wrote the template.
func harden(job *batchv1.Job, labels map[string]string, pol Policy) error {
	pod := &job.Spec.Template
	Restrict(&pod.Spec)
	if err := pol.Check(pod); err != nil {
		return err
	}
	pod.Labels = Merge(pod.Labels, labels)
	if pod.Spec.RestartPolicy == "" {
		pod.Spec.RestartPolicy = corev1.RestartPolicyNever
	}
	return nil
}

// ResultContainer is the container whose termination message carries the
// result: spec.delivery.retraining.resultContainer, or the first one.
func ResultContainer(p *lifecyclev1alpha1.AIProduct, containers []corev1.Container) string {
	if n := p.Spec.Delivery.Retraining.ResultContainer; n != "" {
		return n
	}
	if len(containers) > 0 {
		return containers[0].Name
	}
	return ""
}

// Merge is a and b in one new map, b winning.
func Merge(a, b map[string]string) map[string]string {
	out := make(map[string]string, len(a)+len(b))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// Result is what a trainer reports in its termination message, as JSON:
//
//	{"artifact": {"uri": "s3://models/churn/1.3.0", "format": "ONNX", "digest": "sha256:..."},
//	 "metrics": {"auc": 0.93, "demographic_parity_difference": 0.02},
//	 "slices": [{"metric": "recall", "slice": {"group": "age_60_plus"}, "value": 0.81}],
//	 "dataset": {"uri": "s3://data/churn/2026-11", "digest": "snapshot-42",
//	             "window": {"start": "2026-11-01T00:00:00Z", "end": "2026-11-30T00:00:00Z"}}}
//
// An evaluation reports the same, without artifact and dataset.
type Result struct {
	Artifact struct {
		URI    string `json:"uri"`
		Format string `json:"format,omitempty"`
		Digest string `json:"digest,omitempty"`
	} `json:"artifact"`
	Metrics map[string]float64 `json:"metrics,omitempty"`
	Slices  []SliceResult      `json:"slices,omitempty"`
	Dataset *struct {
		URI    string `json:"uri,omitempty"`
		Digest string `json:"digest,omitempty"`
		// Window is when the training data was collected, RFC 3339.
		Window *struct {
			Start time.Time `json:"start"`
			End   time.Time `json:"end"`
		} `json:"window,omitempty"`
	} `json:"dataset,omitempty"`
}

// SliceResult is one metric measured on one slice of the data.
type SliceResult struct {
	Metric string            `json:"metric"`
	Slice  map[string]string `json:"slice"`
	Value  float64           `json:"value"`
}

// These mirror the admission rules of ModelVersion, so that a result that
// parses here is a ModelVersion the API server accepts.
var (
	uriPattern    = regexp.MustCompile(`^(s3|gs|gcs|az|abfs|hf|oci|https?|pvc|file|mlflow|models)://[^\s]+$`)
	digestPattern = regexp.MustCompile(`^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$`)
	metricPattern = regexp.MustCompile(`^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`)
	labelPattern  = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)
	formats       = func() map[string]bool {
		m := map[string]bool{}
		for _, f := range lifecyclev1alpha1.ModelFormats {
			m[string(f)] = true
		}
		return m
	}()
)

// MetricName reports whether name is one a ModelVersion's metric may have.
func MetricName(name string) bool { return len(name) <= 63 && metricPattern.MatchString(name) }

// ErrNoResult means the result container left no termination message.
var ErrNoResult = errors.New("the result container left no termination message")

// ParseResult reads and checks a trainer's termination message.
func ParseResult(msg string) (*Result, error) {
	r, err := parse(msg)
	if err != nil {
		return nil, err
	}
	switch {
	case len(r.Artifact.URI) > 2048 || !uriPattern.MatchString(r.Artifact.URI):
		return nil, fmt.Errorf("artifact.uri %q is not a model URI (s3://, gs://, hf://, oci://, https://, pvc://, ...)", trim(r.Artifact.URI))
	case r.Artifact.Format != "" && !formats[r.Artifact.Format]:
		return nil, fmt.Errorf("artifact.format %q is not a known format", trim(r.Artifact.Format))
	case r.Artifact.Digest != "" && !digestPattern.MatchString(r.Artifact.Digest):
		return nil, fmt.Errorf("artifact.digest %q is not sha256:<64 hex> or sha512:<128 hex>", trim(r.Artifact.Digest))
	case len(r.Metrics)+len(r.Slices) > 64:
		return nil, fmt.Errorf("%d metrics; a ModelVersion holds at most 64", len(r.Metrics)+len(r.Slices))
	}
	if r.Dataset != nil && (len(r.Dataset.URI) > 2048 || len(r.Dataset.Digest) > 160) {
		return nil, errors.New("dataset uri or digest too long")
	}
	if w := r.Dataset; w != nil && w.Window != nil && (w.Window.Start.IsZero() || w.Window.End.Before(w.Window.Start)) {
		return nil, errors.New("dataset.window needs a start no later than its end")
	}
	return r, nil
}

// ParseEvaluation reads and checks an evaluator's termination message:
// metrics, overall and per slice, and nothing else that would matter.
func ParseEvaluation(msg string) (*Result, error) {
	r, err := parse(msg)
	if err != nil {
		return nil, err
	}
	switch {
	case len(r.Metrics)+len(r.Slices) == 0:
		return nil, errors.New("the result reports no metrics")
	case len(r.Metrics)+len(r.Slices) > 256:
		return nil, fmt.Errorf("%d metrics; an evaluation holds at most 256", len(r.Metrics)+len(r.Slices))
	}
	return r, nil
}

// parse decodes a result and checks its metrics.
func parse(msg string) (*Result, error) {
	msg = strings.TrimSpace(msg)
	if msg == "" {
		return nil, ErrNoResult
	}
	dec := json.NewDecoder(strings.NewReader(msg))
	dec.DisallowUnknownFields()
	var r Result
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("the termination message is not a result: %w", err)
	}
	// A second document or trailing text means the message is not what the
	// trainer meant to report; taking its first part could register the
	// wrong model.
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("the termination message has text after the result")
	}
	for name, v := range r.Metrics {
		if !MetricName(name) {
			return nil, fmt.Errorf("metric name %q is not valid", trim(name))
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("metric %s is not a finite number", name)
		}
	}
	seen := map[string]bool{}
	for _, s := range r.Slices {
		if !MetricName(s.Metric) {
			return nil, fmt.Errorf("slice metric name %q is not valid", trim(s.Metric))
		}
		if len(s.Slice) == 0 || len(s.Slice) > 4 {
			return nil, fmt.Errorf("slice of metric %s has %d labels; 1 to 4", s.Metric, len(s.Slice))
		}
		keys := make([]string, 0, len(s.Slice))
		for k, v := range s.Slice {
			if len(k) > 63 || !labelPattern.MatchString(k) || len(v) == 0 || len(v) > 63 {
				return nil, fmt.Errorf("slice %s=%s of metric %s is not a label name and a value of 1 to 63 characters", trim(k), trim(v), s.Metric)
			}
			keys = append(keys, k+"="+v)
		}
		if math.IsNaN(s.Value) || math.IsInf(s.Value, 0) {
			return nil, fmt.Errorf("metric %s of slice %v is not a finite number", s.Metric, keys)
		}
		sort.Strings(keys)
		id := s.Metric + "{" + strings.Join(keys, ",") + "}"
		if seen[id] {
			return nil, fmt.Errorf("metric %s is reported twice", id)
		}
		seen[id] = true
	}
	return &r, nil
}

// List is a result's metrics as a ModelVersion lists them: the overall
// ones by name, then the sliced ones in the order reported.
func (r *Result) List() []lifecyclev1alpha1.EvaluationMetric {
	names := make([]string, 0, len(r.Metrics))
	for k := range r.Metrics {
		names = append(names, k)
	}
	// Sorted, so that the same result makes the same object every time.
	sort.Strings(names)
	out := make([]lifecyclev1alpha1.EvaluationMetric, 0, len(names)+len(r.Slices))
	for _, k := range names {
		out = append(out, lifecyclev1alpha1.EvaluationMetric{Name: k, Value: lifecyclev1alpha1.DecimalOf(r.Metrics[k])})
	}
	for _, s := range r.Slices {
		out = append(out, lifecyclev1alpha1.EvaluationMetric{Name: s.Metric, Value: lifecyclev1alpha1.DecimalOf(s.Value), Slice: s.Slice})
	}
	return out
}

func trim(s string) string {
	if len(s) > 64 {
		return s[:61] + "..."
	}
	return s
}
