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

package v1alpha1

// Decimal is a number written as a string, such as "0.25", "-3" or "1e-3".
// Kubernetes APIs avoid floating point fields because they do not round-trip
// exactly through JSON in every client; every threshold, target and metric
// value in this API is a Decimal.
// A value beyond the range of a 64-bit float, such as "1e999", is refused.
// +kubebuilder:validation:Pattern=`^[-+]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][-+]?[0-9]{1,3})?$`
// +kubebuilder:validation:MaxLength=40
// +kubebuilder:validation:XValidation:rule="double(self) == double(self)",message="must be a number within the range of a 64-bit float"
type Decimal string

// Direction says on which side of a threshold a value is good.
// +kubebuilder:validation:Enum=AtLeast;AtMost
type Direction string

const (
	// AtLeast means the value is good when it is greater than or equal to the
	// threshold (accuracy, conversion rate).
	AtLeast Direction = "AtLeast"
	// AtMost means the value is good when it is less than or equal to the
	// threshold (latency, error rate, cost).
	AtMost Direction = "AtMost"
)

// PromQL is a Prometheus query that must return a single scalar or a vector
// with one sample. It may use the variables $namespace, $product, $version,
// $stableVersion and $canaryVersion where the field's documentation says so;
// the operator substitutes them with escaped label values, so a value can
// never change the shape of the query.
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=4096
type PromQL string

// SeriesMatch picks one product's series out of the result of a fleet
// query. Each key is a label of the result; each value is that label's
// value, written literally or as a variable ($namespace, $product, and
// $version where the field says so) that stands for the product's own.
// +kubebuilder:validation:MinProperties=1
// +kubebuilder:validation:MaxProperties=8
// +kubebuilder:validation:XValidation:rule="self.all(k, k.size() <= 128 && k.matches('^[a-zA-Z_][a-zA-Z0-9_]*$'))",message="matchLabels keys must be Prometheus label names of at most 128 characters"
// +kubebuilder:validation:XValidation:rule="self.all(k, self[k].size() >= 1 && self[k].size() <= 253)",message="matchLabels values must be 1 to 253 characters"
type SeriesMatch map[string]string

// MetricCheck is a PromQL query judged against a threshold.
type MetricCheck struct {
	// name identifies the check in status, events and metrics. It is unique
	// within its list.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9_]*[a-z0-9])?$`
	Name string `json:"name"`

	// query is the PromQL that yields the value to judge.
	// +required
	Query PromQL `json:"query"`

	// threshold is the value the query's result is compared with.
	// +required
	Threshold Decimal `json:"threshold"`

	// direction says whether the value must be AtLeast or AtMost the threshold.
	// +required
	Direction Direction `json:"direction"`
}

// LocalObjectName is the name of an object in the same namespace.
// +kubebuilder:validation:MinLength=1
// +kubebuilder:validation:MaxLength=253
// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$`
type LocalObjectName string

// CheckResult is the outcome of judging one value against its threshold.
// +kubebuilder:validation:Enum=Met;Missed;Unknown
type CheckResult string

const (
	// ResultMet means the value is on the good side of its threshold.
	ResultMet CheckResult = "Met"
	// ResultMissed means the value is on the bad side of its threshold.
	ResultMissed CheckResult = "Missed"
	// ResultUnknown means there was no value to judge: Prometheus was not
	// reachable, or the query returned no data. Unknown never counts as
	// missed, and never counts as met.
	ResultUnknown CheckResult = "Unknown"
)

// Annotations through which people (with kubectl annotate) and Argo CD
// resource actions ask the operator for something. The operator acts on
// each once, records it in status.lastRequest, emits an Event and removes
// the annotation. A GitOps tool that has the annotation in git would put it
// back and ask again: make requests on the live object, not in git.
const (
	// AnnotationPromote skips the rest of the running rollout (or ends an
	// indefinite pause) and promotes the canary.
	AnnotationPromote = "lifecycle.aipm.io/promote"
	// AnnotationAbort aborts the running rollout: traffic returns to the
	// stable version and the canary is Rejected.
	AnnotationAbort = "lifecycle.aipm.io/abort"
	// AnnotationRetry restarts an aborted or inconclusive rollout of the
	// desired version from its first step.
	AnnotationRetry = "lifecycle.aipm.io/retry"
	// AnnotationRetrain starts a retraining run now (trigger Manual).
	AnnotationRetrain = "lifecycle.aipm.io/retrain"
	// AnnotationRerun re-runs the discovery experiment named by its value.
	AnnotationRerun = "lifecycle.aipm.io/rerun-experiment"
)
