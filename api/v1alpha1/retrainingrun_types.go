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
	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TrainingBackend is the kind of workload that trains a new version.
// +kubebuilder:validation:Enum=Job;TrainJob;JobSet;RayJob
type TrainingBackend string

const (
	// BackendJob trains in a batch/v1 Job.
	BackendJob TrainingBackend = "Job"
	// BackendTrainJob trains in a Kubeflow Trainer TrainJob.
	BackendTrainJob TrainingBackend = "TrainJob"
	// BackendJobSet trains in a JobSet.
	BackendJobSet TrainingBackend = "JobSet"
	// BackendRayJob trains in a KubeRay RayJob.
	BackendRayJob TrainingBackend = "RayJob"
)

// RunPhase is where a RetrainingRun stands.
// +kubebuilder:validation:Enum=Pending;Running;Succeeded;Failed
type RunPhase string

// Run phases.
const (
	// RunPending: the workload is not created yet.
	RunPending RunPhase = "Pending"
	// RunRunning: the workload runs.
	RunRunning RunPhase = "Running"
	// RunSucceeded: the workload finished and its ModelVersion is
	// registered.
	RunSucceeded RunPhase = "Succeeded"
	// RunFailed: the run ended without a ModelVersion; reason and message
	// say why.
	RunFailed RunPhase = "Failed"
)

// Finished reports whether the phase is final.
func (p RunPhase) Finished() bool { return p == RunSucceeded || p == RunFailed }

// RunTrigger is what asked for a run.
type RunTrigger struct {
	// kind is Schedule, Drift or Manual.
	// +required
	// +kubebuilder:validation:XValidation:rule="self != 'External'",message="External names versions registered outside the operator, not a run's trigger"
	Kind TrainingTrigger `json:"kind"`
	// key identifies the ask within its kind: the schedule tick or the
	// drift episode's start (Unix seconds), or the value of the retrain
	// annotation. The run's name derives from the product, kind and key, so
	// the same ask never makes two runs.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=253
	Key string `json:"key"`
	// reason says in words what the run answers: the schedule tick, or the
	// drift check in breach and its value.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Reason string `json:"reason,omitempty"`
}

// RetrainingRunSpec is one run, as its product resolved it when the run was
// triggered. It never changes: a product edited later affects later runs.
// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="a RetrainingRun's spec is immutable"
// +kubebuilder:validation:XValidation:rule="(!has(self.backend) || self.backend == 'Job') ? has(self.template) : has(self.workload)",message="a run of backend Job needs template, of any other backend workload"
type RetrainingRunSpec struct {
	// product is the AIProduct the run retrains, in the run's namespace.
	// +required
	Product LocalObjectName `json:"product"`
	// trigger is what asked for the run.
	// +required
	Trigger RunTrigger `json:"trigger"`
	// backend is the kind of workload that trains: Job (the default),
	// TrainJob, JobSet or RayJob.
	// +optional
	// +kubebuilder:default=Job
	Backend TrainingBackend `json:"backend,omitempty"`
	// resultJob is the replicated job whose first pod reports the result
	// (backend JobSet).
	// +optional
	// +kubebuilder:validation:MaxLength=63
	ResultJob string `json:"resultJob,omitempty"`
	// targetVersion is the semantic version the run registers, such as
	// 1.4.1: the patch after the product's highest version when the run was
	// triggered.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	TargetVersion string `json:"targetVersion"`
	// parentVersion is the ModelVersion in production when the run was
	// triggered; the new version's lineage names it.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	ParentVersion string `json:"parentVersion,omitempty"`
	// resultContainer is the container whose termination message carries
	// the training result (docs/retraining.md).
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	ResultContainer string `json:"resultContainer"`
	// template is the Job the run creates, resolved from the product's
	// spec.delivery.retraining.template with the operator's labels,
	// AIPM_* environment variables and restricted security context. The
	// operator checks it again against its retraining policy before it
	// creates the Job, so a run written by hand cannot widen what a
	// trainer may do. Its schema is the product's template, validated
	// there; here it is kept as written.
	// +optional
	// +kubebuilder:validation:Schemaless
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	Template *batchv1.JobTemplateSpec `json:"template,omitempty"`
	// workload is the TrainJob, JobSet or RayJob the run creates (the
	// other backends), resolved from the product's template as template
	// is, and checked again before it is created.
	// +optional
	Workload *WorkloadTemplate `json:"workload,omitempty"`
}

// WorkloadRef names the object a run created to train.
type WorkloadRef struct {
	// kind of the workload: Job, TrainJob, JobSet or RayJob.
	// +required
	Kind string `json:"kind"`
	// name of the workload, in the run's namespace.
	// +required
	Name string `json:"name"`
}

// TrainingResult is what a finished workload reported, by the result
// contract (docs/retraining.md).
type TrainingResult struct {
	// artifact is where the trained model is.
	// +required
	Artifact Artifact `json:"artifact"`
	// metrics are the evaluation metrics the trainer reported, overall and
	// per slice.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	Metrics []EvaluationMetric `json:"metrics,omitempty"`
	// dataset is the data the model was trained on.
	// +optional
	Dataset *Dataset `json:"dataset,omitempty"`
}

// RetrainingRunStatus is what the run's controller observed.
// +structType=atomic
type RetrainingRunStatus struct {
	// observedGeneration is the generation this status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// phase: Pending, Running, Succeeded or Failed.
	// +optional
	Phase RunPhase `json:"phase,omitempty"`
	// reason is why the run is in its phase, CamelCase (the constants of
	// this package: Registered, WorkloadFailed, ResultUnusable, ...).
	// +optional
	Reason string `json:"reason,omitempty"`
	// message explains the phase in words.
	// +optional
	Message string `json:"message,omitempty"`
	// workload is the object the run created.
	// +optional
	Workload *WorkloadRef `json:"workload,omitempty"`
	// startTime is when the workload was created.
	// +optional
	StartTime *metav1.Time `json:"startTime,omitempty"`
	// completionTime is when the run succeeded or failed.
	// +optional
	CompletionTime *metav1.Time `json:"completionTime,omitempty"`
	// result is what the workload reported.
	// +optional
	Result *TrainingResult `json:"result,omitempty"`
	// modelVersion is the ModelVersion the run registered.
	// +optional
	ModelVersion string `json:"modelVersion,omitempty"`
	// conditions: Ready, Reconciling, Stalled and Succeeded.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=rrun,categories=aipm
// +kubebuilder:printcolumn:name="Product",type=string,JSONPath=`.spec.product`
// +kubebuilder:printcolumn:name="Trigger",type=string,JSONPath=`.spec.trigger.kind`
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Version",type=string,JSONPath=`.status.modelVersion`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// RetrainingRun is one retraining of an AIProduct: the operator creates one
// when a schedule tick, a sustained drift or a manual request calls for it.
// The run creates its workload, reads the result the trainer reports, and
// registers the ModelVersion it produced, with lineage. Deleting the
// product deletes its runs; the product keeps the newest ones by its
// history limits.
type RetrainingRun struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the run as triggered.
	// +required
	Spec RetrainingRunSpec `json:"spec"`

	// status is what the run's controller observed.
	// It reads observedGeneration 0 until the operator first writes it, so
	// that kstatus readers (kubectl wait, Flux, the cli-utils applier) see a
	// new object as InProgress, not Current.
	// +optional
	// +kubebuilder:default={observedGeneration: 0}
	Status RetrainingRunStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// RetrainingRunList contains a list of RetrainingRun.
type RetrainingRunList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []RetrainingRun `json:"items"`
}

func init() {
	SchemeBuilder.Register(&RetrainingRun{}, &RetrainingRunList{})
}
