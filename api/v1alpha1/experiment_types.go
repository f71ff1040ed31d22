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

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ExperimentPhase is where an experiment stands.
// +kubebuilder:validation:Enum=Pending;Waiting;Running;Finished
type ExperimentPhase string

// Experiment phases.
const (
	// ExperimentPending: not looked at yet.
	ExperimentPending ExperimentPhase = "Pending"
	// ExperimentWaiting: cannot start yet; the message says for what.
	ExperimentWaiting ExperimentPhase = "Waiting"
	// ExperimentRunning: the candidate runs until the duration ends.
	ExperimentRunning ExperimentPhase = "Running"
	// ExperimentFinished: the verdict is in.
	ExperimentFinished ExperimentPhase = "Finished"
)

// ExperimentVerdict is how an experiment ended.
// +kubebuilder:validation:Enum=Succeeded;Failed;Inconclusive
type ExperimentVerdict string

// Experiment verdicts.
const (
	// VerdictSucceeded: every success criterion was met.
	VerdictSucceeded ExperimentVerdict = "Succeeded"
	// VerdictFailed: a criterion was missed; the candidate is Rejected.
	VerdictFailed ExperimentVerdict = "Failed"
	// VerdictInconclusive: too few samples, or a criterion had no data.
	VerdictInconclusive ExperimentVerdict = "Inconclusive"
)

// Traffic an experiment's candidate receives.
const (
	TrafficMirrored = "Mirrored"
	TrafficSplit    = "Split"
	TrafficHeader   = "Header"
	TrafficNone     = "None"
)

// ExperimentSpec is one discovery experiment of a product: a copy of its
// entry in the product's spec.discovery.experiments, which the operator
// keeps in step with the product.
type ExperimentSpec struct {
	// product is the AIProduct that runs the experiment, in the
	// Experiment's namespace.
	// +required
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="product is immutable"
	Product LocalObjectName `json:"product"`

	DiscoveryExperiment `json:",inline"`
}

// ExperimentStatus is one experiment's progress and verdict.
// +structType=atomic
type ExperimentStatus struct {
	// observedGeneration is the generation this status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// phase: Pending, Waiting, Running or Finished.
	// +optional
	Phase ExperimentPhase `json:"phase,omitempty"`
	// verdict of a Finished experiment: Succeeded, Failed or Inconclusive.
	// +optional
	Verdict ExperimentVerdict `json:"verdict,omitempty"`
	// message explains the phase: what it waits for, which criterion
	// failed.
	// +optional
	Message string `json:"message,omitempty"`
	// startedAt is when it started.
	// +optional
	StartedAt *metav1.Time `json:"startedAt,omitempty"`
	// finishedAt is when it ended.
	// +optional
	FinishedAt *metav1.Time `json:"finishedAt,omitempty"`
	// traffic says what traffic the candidate receives: Mirrored, Split,
	// Header or None.
	// +optional
	Traffic string `json:"traffic,omitempty"`
	// lastEvaluated is when the criteria were last evaluated.
	// +optional
	LastEvaluated *metav1.Time `json:"lastEvaluated,omitempty"`
	// candidateSamples is the last result of sampleQuery for the candidate.
	// +optional
	CandidateSamples Decimal `json:"candidateSamples,omitempty"`
	// controlSamples is the last result of sampleQuery for production, in
	// an ABTest.
	// +optional
	ControlSamples Decimal `json:"controlSamples,omitempty"`
	// criteria shows each criterion's last values.
	// +optional
	// +listType=map
	// +listMapKey=name
	Criteria []CriterionStatus `json:"criteria,omitempty"`
	// conditions: Ready, Reconciling and Stalled.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// CriterionStatus is one success criterion's last evaluation.
type CriterionStatus struct {
	// name of the criterion.
	// +required
	Name string `json:"name"`
	// value is the candidate's last value.
	// +optional
	Value Decimal `json:"value,omitempty"`
	// controlValue is production's last value, for comparisons.
	// +optional
	ControlValue Decimal `json:"controlValue,omitempty"`
	// result: Met, Missed or Unknown.
	// +optional
	Result CheckResult `json:"result,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=exp,categories=aipm
// +kubebuilder:printcolumn:name="Product",type=string,JSONPath=`.spec.product`
// +kubebuilder:printcolumn:name="Type",type=string,JSONPath=`.spec.type`
// +kubebuilder:printcolumn:name="Candidate",type=string,JSONPath=`.spec.modelVersion`,priority=1
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Verdict",type=string,JSONPath=`.status.verdict`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// Experiment is one discovery experiment of an AIProduct: a candidate
// ModelVersion run beside production (Shadow), against it (ABTest) or alone
// (Sandbox) for a while, then judged by its success criteria. The operator
// creates one per entry of the product's spec.discovery.experiments; the
// Experiment owns the candidate's Deployment and Service, and its verdict
// opens the product's Discovery gate.
type Experiment struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the experiment as its product declares it.
	// +required
	Spec ExperimentSpec `json:"spec"`

	// status is the experiment's progress and verdict.
	// It reads observedGeneration 0 until the operator first writes it, so
	// that kstatus readers (kubectl wait, Flux, the cli-utils applier) see a
	// new object as InProgress, not Current.
	// +optional
	// +kubebuilder:default={observedGeneration: 0}
	Status ExperimentStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// ExperimentList contains a list of Experiment.
type ExperimentList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Experiment `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Experiment{}, &ExperimentList{})
}
