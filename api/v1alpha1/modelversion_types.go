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

// LabelProduct is set by the operator on every ModelVersion (and on every
// object it creates) to the name of its AIProduct, so that
// `kubectl get mv -l lifecycle.aipm.io/product=NAME` lists a product's versions.
const LabelProduct = "lifecycle.aipm.io/product"

// LabelVersion is set on serving objects to the ModelVersion they serve.
const LabelVersion = "lifecycle.aipm.io/version"

// LabelExperiment names, on an Experiment and on its Deployment, Service
// and pods, the experiment of spec.discovery.experiments they run.
const LabelExperiment = "lifecycle.aipm.io/experiment"

// TrainingTrigger is what started a training run.
// +kubebuilder:validation:Enum=Schedule;Drift;Objective;Manual;External
type TrainingTrigger string

// Training triggers.
const (
	// TriggerSchedule: the retraining cron schedule fired.
	TriggerSchedule TrainingTrigger = "Schedule"
	// TriggerDrift: a drift check stayed in breach for its for duration.
	TriggerDrift TrainingTrigger = "Drift"
	// TriggerManual: a person asked for a run with the retrain annotation.
	TriggerManual TrainingTrigger = "Manual"
	// TriggerObjective: a business objective named in onObjectiveBreach
	// stayed Missed for its breachFor duration while no rollout ran.
	TriggerObjective TrainingTrigger = "Objective"
	// TriggerExternal: trained outside the operator and registered by hand
	// or by a pipeline.
	TriggerExternal TrainingTrigger = "External"
)

// ModelFormat is the serialisation of a model artifact.
// +kubebuilder:validation:Enum=ONNX;TensorFlow;PyTorch;SKLearn;XGBoost;LightGBM;MLflow;HuggingFace;Triton;Custom
type ModelFormat string

// ModelFormats are the values ModelFormat takes, as its Enum lists them.
var ModelFormats = []ModelFormat{"ONNX", "TensorFlow", "PyTorch", "SKLearn", "XGBoost", "LightGBM", "MLflow", "HuggingFace", "Triton", "Custom"}

// Stage is where a version stands in its product's life. The operator sets
// it; people cannot.
// +kubebuilder:validation:Enum=Candidate;Staging;Production;Archived;Rejected
type Stage string

const (
	// StageCandidate: registered, not yet serving.
	StageCandidate Stage = "Candidate"
	// StageStaging: receiving canary traffic, or running in an experiment.
	StageStaging Stage = "Staging"
	// StageProduction: serving production.
	StageProduction Stage = "Production"
	// StageArchived: served production once and was replaced.
	StageArchived Stage = "Archived"
	// StageRejected: failed an analysis or an experiment.
	StageRejected Stage = "Rejected"
)

// ModelVersionSpec is one trained model. Its identity (product, version,
// artifact) and its self-reported metrics are immutable: a new model is a
// new ModelVersion.
// +kubebuilder:validation:XValidation:rule="has(self.metrics) == has(oldSelf.metrics) && (!has(self.metrics) || self.metrics == oldSelf.metrics)",message="metrics are self-reported at registration and immutable; an independent evaluation (spec.delivery.evaluation of the product) reports in status.evaluation"
type ModelVersionSpec struct {
	// product is the name of the AIProduct, in the same namespace, this
	// version belongs to. Immutable.
	// +required
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="product is immutable"
	Product LocalObjectName `json:"product"`

	// version is the semantic version of the model, such as 1.4.0.
	// Immutable.
	// +required
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^v?(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$`
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="version is immutable"
	Version string `json:"version"`

	// artifact is where the model is and what it is. Immutable.
	// +required
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="artifact is immutable"
	Artifact Artifact `json:"artifact"`

	// lineage is how the model was made.
	// +optional
	Lineage *Lineage `json:"lineage,omitempty"`

	// metrics are the evaluation results its trainer reported, self-reported
	// and immutable once the version is registered. The product's promotion
	// policy judges them only when the product runs no independent
	// evaluation (spec.delivery.evaluation); otherwise it judges
	// status.evaluation.metrics and these stay for the record. A metric
	// appears once per name and slice.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	// +kubebuilder:validation:XValidation:rule="self.all(a, self.exists_one(b, b.name == a.name && (has(b.slice) ? b.slice : {}) == (has(a.slice) ? a.slice : {})))",message="a metric appears once per name and slice"
	Metrics []EvaluationMetric `json:"metrics,omitempty"`

	// modelCard documents the model for the people who use its output.
	// +optional
	ModelCard *ModelCard `json:"modelCard,omitempty"`
}

// Artifact is a stored model.
type Artifact struct {
	// uri is where the model is stored: s3://, gs://, hf://, oci://,
	// https:// or pvc://.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:Pattern=`^(s3|gs|gcs|az|abfs|hf|oci|https?|pvc|file|mlflow|models)://[^\s]+$`
	URI string `json:"uri"`
	// format is the model's serialisation.
	// +optional
	Format ModelFormat `json:"format,omitempty"`
	// digest is the content digest of the artifact, algorithm:hex.
	// +optional
	// +kubebuilder:validation:MaxLength=160
	// +kubebuilder:validation:Pattern=`^(sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$`
	Digest string `json:"digest,omitempty"`
}

// Lineage records where a model came from.
type Lineage struct {
	// trigger is what started its training: Schedule, Drift, Manual or
	// External.
	// +optional
	// +kubebuilder:default=External
	Trigger TrainingTrigger `json:"trigger,omitempty"`
	// trainingJob is the name of the workload that trained it: a Job, or
	// the TrainJob, JobSet or RayJob trainingKind names.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	TrainingJob string `json:"trainingJob,omitempty"`
	// trainingKind is the kind of that workload when it is not a batch
	// Job: TrainJob, JobSet or RayJob.
	// +optional
	// +kubebuilder:validation:Enum=TrainJob;JobSet;RayJob
	TrainingKind string `json:"trainingKind,omitempty"`
	// parentVersion is the ModelVersion that was in production when it was
	// trained.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	ParentVersion string `json:"parentVersion,omitempty"`
	// dataset identifies the training data.
	// +optional
	Dataset *Dataset `json:"dataset,omitempty"`
}

// Dataset identifies a data set.
type Dataset struct {
	// uri of the data set.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	URI string `json:"uri,omitempty"`
	// digest of the data set's content or snapshot id.
	// +optional
	// +kubebuilder:validation:MaxLength=160
	Digest string `json:"digest,omitempty"`
	// window is the time the data was collected over. On a production
	// version's lineage it is the training window a drift check's
	// histogram reference (trainingWindow) compares live inputs with.
	// +optional
	Window *TimeWindow `json:"window,omitempty"`
}

// TimeWindow is a span of time.
// +kubebuilder:validation:XValidation:rule="self.start <= self.end",message="start must not be after end"
type TimeWindow struct {
	// start of the window.
	// +required
	Start metav1.Time `json:"start"`
	// end of the window.
	// +required
	End metav1.Time `json:"end"`
}

// EvaluationMetric is one evaluation result.
type EvaluationMetric struct {
	// name of the metric, such as accuracy, auc or
	// demographic_parity_difference.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`
	Name string `json:"name"`
	// value of the metric.
	// +required
	Value Decimal `json:"value"`
	// slice is the group of the evaluation data the value was measured on,
	// as labels such as {group: age_60_plus}; absent for the whole data
	// set. The promotion policy's slice requirements compare the values of
	// one metric across the slices of one label.
	// +optional
	// +kubebuilder:validation:MaxProperties=4
	// +kubebuilder:validation:XValidation:rule="self.all(k, k.size() <= 63 && k.matches('^[a-zA-Z_][a-zA-Z0-9_]*$') && self[k].size() >= 1 && self[k].size() <= 63)",message="slice keys are label names and values 1 to 63 characters"
	Slice map[string]string `json:"slice,omitempty"`
}

// ModelCard is the model's documentation.
type ModelCard struct {
	// intendedUse says what the model is for and who it serves.
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	IntendedUse string `json:"intendedUse,omitempty"`
	// limitations says where the model should not be trusted.
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	Limitations string `json:"limitations,omitempty"`
	// ethicalConsiderations records fairness and safety findings.
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	EthicalConsiderations string `json:"ethicalConsiderations,omitempty"`
}

// ModelVersionStatus is the operator's view of the version. Its ownership
// is tracked as one field, as the product's is.
// +structType=atomic
type ModelVersionStatus struct {
	// observedGeneration is the generation this status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// stage: Candidate, Staging, Production, Archived or Rejected.
	// +optional
	Stage Stage `json:"stage,omitempty"`

	// stageReason says why the version has its stage, such as the failing
	// metric of a rejected canary.
	// +optional
	StageReason string `json:"stageReason,omitempty"`

	// stageTransitionTime is when the stage last changed.
	// +optional
	StageTransitionTime *metav1.Time `json:"stageTransitionTime,omitempty"`

	// eligible is true when the version meets its product's promotion
	// policy. The Eligible condition says why not.
	// +optional
	Eligible bool `json:"eligible"`

	// evaluation is the independent evaluation of the version, run once
	// when its product declares spec.delivery.evaluation.
	// +optional
	Evaluation *EvaluationStatus `json:"evaluation,omitempty"`

	// conditions: Ready, Reconciling, Stalled, Eligible.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// EvaluationPhase is where an independent evaluation stands.
// +kubebuilder:validation:Enum=Running;Succeeded;Failed
type EvaluationPhase string

// Evaluation phases.
const (
	// EvaluationRunning: the evaluation Job runs.
	EvaluationRunning EvaluationPhase = "Running"
	// EvaluationSucceeded: the Job reported metrics; the promotion policy
	// judges them.
	EvaluationSucceeded EvaluationPhase = "Succeeded"
	// EvaluationFailed: the Job failed, timed out or reported nothing
	// usable; the version is not Eligible. Delete the Job to evaluate again.
	EvaluationFailed EvaluationPhase = "Failed"
)

// EvaluationStatus is the result of a version's independent evaluation.
type EvaluationStatus struct {
	// phase: Running, Succeeded or Failed.
	// +required
	Phase EvaluationPhase `json:"phase"`
	// job is the name of the evaluation Job.
	// +required
	Job string `json:"job"`
	// startTime is when the Job was created.
	// +optional
	StartTime *metav1.Time `json:"startTime,omitempty"`
	// completionTime is when the evaluation ended.
	// +optional
	CompletionTime *metav1.Time `json:"completionTime,omitempty"`
	// reason is why a Failed evaluation failed, CamelCase: JobFailed,
	// ResultUnusable or TemplateRefused.
	// +optional
	Reason string `json:"reason,omitempty"`
	// message says what happened, in words.
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	Message string `json:"message,omitempty"`
	// metrics are the evaluated metrics, overall and per slice.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=256
	Metrics []EvaluationMetric `json:"metrics,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=mv,categories=aipm
// +kubebuilder:printcolumn:name="Product",type=string,JSONPath=`.spec.product`
// +kubebuilder:printcolumn:name="Version",type=string,JSONPath=`.spec.version`
// +kubebuilder:printcolumn:name="Stage",type=string,JSONPath=`.status.stage`
// +kubebuilder:printcolumn:name="Eligible",type=string,JSONPath=`.status.conditions[?(@.type=="Eligible")].status`
// +kubebuilder:printcolumn:name="Evaluation",type=string,JSONPath=`.status.evaluation.phase`
// +kubebuilder:printcolumn:name="Trigger",type=string,JSONPath=`.spec.lineage.trigger`,priority=1
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// ModelVersion is one trained model of an AIProduct: its artifact, lineage,
// evaluation metrics and model card, and the stage the operator gave it.
type ModelVersion struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the trained model.
	// +required
	Spec ModelVersionSpec `json:"spec"`

	// status is the operator's view of the version.
	// It reads observedGeneration 0 until the operator first writes it, so
	// that kstatus readers (kubectl wait, Flux, the cli-utils applier) see a
	// new object as InProgress, not Current.
	// +optional
	// +kubebuilder:default={observedGeneration: 0}
	Status ModelVersionStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// ModelVersionList contains a list of ModelVersion.
type ModelVersionList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []ModelVersion `json:"items"`
}

func init() {
	SchemeBuilder.Register(&ModelVersion{}, &ModelVersionList{})
}
