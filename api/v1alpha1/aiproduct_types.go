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
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// ProductPhase is a phase of product work.
// +kubebuilder:validation:Enum=Strategy;Discovery;Delivery;Retired
type ProductPhase string

const (
	// PhaseStrategy: the team states the vision, the problem, the business
	// objectives and its assessment of the product's risks.
	PhaseStrategy ProductPhase = "Strategy"
	// PhaseDiscovery: the team tests ideas and candidate models cheaply, with
	// shadow, A/B and sandbox experiments, and works down its risk register.
	PhaseDiscovery ProductPhase = "Discovery"
	// PhaseDelivery: a model version serves production traffic; new versions
	// arrive by canary; drift and retraining are watched.
	PhaseDelivery ProductPhase = "Delivery"
	// PhaseRetired: serving is scaled to zero and retraining is suspended.
	// Every ModelVersion is kept.
	PhaseRetired ProductPhase = "Retired"
)

// AIProductSpec is the product as its team declares it. Git owns the spec;
// the operator never writes it.
// +kubebuilder:validation:XValidation:rule="self.phase != 'Delivery' || has(self.delivery)",message="spec.delivery is required when spec.phase is Delivery"
type AIProductSpec struct {
	// description says in a sentence what the product does for whom.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Description string `json:"description,omitempty"`

	// owners names the people who answer for the product.
	// +optional
	Owners Owners `json:"owners,omitempty"`

	// phase is the phase the team asks for. The operator moves
	// status.phase toward it one phase at a time (Strategy, Discovery,
	// Delivery), and only while the gates of the phases in between hold.
	// Retired is reached from any phase. Moving back to an earlier phase is
	// always allowed and is recorded in status.phaseHistory.
	// +optional
	// +kubebuilder:default=Strategy
	Phase ProductPhase `json:"phase,omitempty"`

	// strategy holds the vision, the problem, the objectives and the
	// assessment the Strategy gate checks.
	// +optional
	Strategy *StrategySpec `json:"strategy,omitempty"`

	// discovery holds the risk register and the experiments the Discovery
	// gate checks.
	// +optional
	Discovery *DiscoverySpec `json:"discovery,omitempty"`

	// delivery says how the product is served, rolled out, monitored and
	// retrained. Required when phase is Delivery.
	// +optional
	Delivery *DeliverySpec `json:"delivery,omitempty"`

	// notifications subscribes the product's people to the moments of its
	// life, sent to sinks the operator's administrator declares. Without
	// it the namespace's default subscription, if any, applies.
	// +optional
	Notifications *NotificationSpec `json:"notifications,omitempty"`
}

// Moment is a moment of a product's life people can be told of.
// +kubebuilder:validation:Enum=PhaseChanged;GateBlocked;RolloutStarted;RolloutAwaitingApproval;RolloutPromoted;RolloutAborted;DriftDetected;RetrainingSucceeded;RetrainingFailed;ObjectiveBreached;PostPromotionRollback
type Moment string

// Moments.
const (
	MomentPhaseChanged            Moment = "PhaseChanged"
	MomentGateBlocked             Moment = "GateBlocked"
	MomentRolloutStarted          Moment = "RolloutStarted"
	MomentRolloutAwaitingApproval Moment = "RolloutAwaitingApproval"
	MomentRolloutPromoted         Moment = "RolloutPromoted"
	MomentRolloutAborted          Moment = "RolloutAborted"
	MomentDriftDetected           Moment = "DriftDetected"
	MomentRetrainingSucceeded     Moment = "RetrainingSucceeded"
	MomentRetrainingFailed        Moment = "RetrainingFailed"
	MomentObjectiveBreached       Moment = "ObjectiveBreached"
	MomentPostPromotionRollback   Moment = "PostPromotionRollback"
)

// NotificationSpec is a product's subscription.
type NotificationSpec struct {
	// sinks names the sinks, declared in the operator's notification
	// Secret (docs/notifications.md), that receive the moments. A name
	// the Secret does not declare is skipped and counted as dropped.
	// +required
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=8
	// +kubebuilder:validation:items:MaxLength=63
	// +kubebuilder:validation:items:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Sinks []string `json:"sinks"`
	// moments are the moments sent; empty sends every moment.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=16
	Moments []Moment `json:"moments,omitempty"`
}

// Owners are the roles of a product team. Each value is a person's name,
// handle or e-mail address.
type Owners struct {
	// productManager owns the problem, the objectives and the phase.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	ProductManager string `json:"productManager,omitempty"`
	// dataScientist owns the model, its evaluation and its drift.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	DataScientist string `json:"dataScientist,omitempty"`
	// techLead owns serving, reliability and cost.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	TechLead string `json:"techLead,omitempty"`
	// designer owns usability and how people meet the model's output.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Designer string `json:"designer,omitempty"`
}

// StrategySpec is the Strategy phase: why the product exists and how success
// is measured.
type StrategySpec struct {
	// vision is where the product is going, in a few sentences.
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	Vision string `json:"vision,omitempty"`

	// problemStatement is the customer problem the product solves.
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	ProblemStatement string `json:"problemStatement,omitempty"`

	// prioritization lists capabilities with their MoSCoW priority.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=64
	Prioritization []PrioritizedItem `json:"prioritization,omitempty"`

	// assessment records the team's judgement of the four big risks of
	// product work: value, usability, feasibility and viability. The
	// Strategy gate requires all four.
	// +optional
	Assessment ProductAssessment `json:"assessment,omitempty"`

	// objectives are the business KPIs the product answers for. Each is a
	// PromQL query evaluated every evaluationInterval and shown against its
	// target in status. The Strategy gate requires at least one.
	// The query may use $namespace and $product.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=32
	Objectives []Objective `json:"objectives,omitempty"`

	// evaluationInterval is how often objectives are queried. Default 1m;
	// between 5s and 24h.
	// +optional
	// +kubebuilder:default="1m"
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('5s') && duration(self) <= duration('24h')",message="evaluationInterval must be between 5s and 24h"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`
	// +kubebuilder:validation:MaxLength=32
	EvaluationInterval *metav1.Duration `json:"evaluationInterval,omitempty"`
}

// MoSCoW is a prioritization bucket.
// +kubebuilder:validation:Enum=Must;Should;Could;Wont
type MoSCoW string

// MoSCoW buckets.
const (
	MoSCoWMust   MoSCoW = "Must"
	MoSCoWShould MoSCoW = "Should"
	MoSCoWCould  MoSCoW = "Could"
	MoSCoWWont   MoSCoW = "Wont"
)

// PrioritizedItem is one capability and its priority.
type PrioritizedItem struct {
	// name of the capability, unique in the list.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=128
	Name string `json:"name"`
	// priority is Must, Should, Could or Wont.
	// +required
	Priority MoSCoW `json:"priority"`
	// description of the capability.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Description string `json:"description,omitempty"`
}

// Rating is a team's judgement of one product risk.
// +kubebuilder:validation:Enum=High;Medium;Low
type Rating string

// Ratings, from most to least confident.
const (
	RatingHigh   Rating = "High"
	RatingMedium Rating = "Medium"
	RatingLow    Rating = "Low"
)

// ProductAssessment is the team's view of the four product risks.
type ProductAssessment struct {
	// value: will customers use it, or buy it?
	// +optional
	Value *Assessment `json:"value,omitempty"`
	// usability: can people figure out how to use it, and trust its output?
	// +optional
	Usability *Assessment `json:"usability,omitempty"`
	// feasibility: can we build and serve it with the data, models, time and
	// skills we have?
	// +optional
	Feasibility *Assessment `json:"feasibility,omitempty"`
	// viability: does it work for the business: cost, legal, compliance,
	// ethics?
	// +optional
	Viability *Assessment `json:"viability,omitempty"`
}

// Assessment is the judgement on one risk and the evidence behind it.
type Assessment struct {
	// rating is the team's confidence that this risk is handled: High,
	// Medium or Low. A Low rating does not block the gate; it is shown so
	// that it is seen.
	// +required
	Rating Rating `json:"rating"`
	// evidence is what the rating rests on: research, a prototype, a cost
	// estimate, a legal review.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	Evidence string `json:"evidence,omitempty"`
}

// Objective is a business KPI with a target.
type Objective struct {
	// name identifies the objective, unique in the list; it becomes the
	// objective label of the aipm_objective_* metrics.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9_]*[a-z0-9])?$`
	Name string `json:"name"`
	// description says what the KPI means to the business.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Description string `json:"description,omitempty"`
	// query is the PromQL that measures the KPI. It may use $namespace,
	// $product and $version: the production version here, and the canary
	// and the stable version in turn where an analysis step guards a
	// rollout with the objective.
	// +required
	Query PromQL `json:"query"`
	// matchLabels makes query a fleet query: written once for many
	// products, it returns a series per product, and this product's value
	// is the one series whose labels hold these values. Values may be
	// literal, $namespace or $product. Every product whose query reads the
	// same (after $namespace and $product, where used, are filled in)
	// shares one Prometheus query: a result serves them all for half of
	// each one's evaluationInterval. No series for the product reads
	// Unknown, more than one is an error. Without matchLabels the query
	// runs for this product alone and must return a single value.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self.all(k, !self[k].startsWith('$') || self[k] in ['$namespace', '$product'])",message="matchLabels values may use $namespace and $product only"
	MatchLabels SeriesMatch `json:"matchLabels,omitempty"`
	// target is the value the KPI must reach.
	// +required
	Target Decimal `json:"target"`
	// direction says whether the KPI must be AtLeast or AtMost the target.
	// +required
	Direction Direction `json:"direction"`
	// required makes the move into Delivery (the Discovery gate) wait until
	// the objective is measurable: Met or Missed, never Unknown. A product
	// that cannot measure what it answers for does not ship.
	// +optional
	Required bool `json:"required,omitempty"`
	// breachFor is how long the objective must stay Missed before the
	// miss counts as a breach: for retraining
	// (spec.delivery.retraining.onObjectiveBreach) and for the
	// post-promotion watch (spec.delivery.rollout.postPromotion). Default
	// 5m.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="duration(self) <= duration('720h')",message="breachFor must be at most 720h"
	BreachFor *metav1.Duration `json:"breachFor,omitempty"`
}

// DiscoverySpec is the Discovery phase: test ideas rapidly, assess risks
// early.
type DiscoverySpec struct {
	// risks is the risk register. The Discovery gate requires every risk of
	// severity High or Critical to be Mitigated.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=64
	Risks []Risk `json:"risks,omitempty"`

	// experiments try candidate ModelVersions before they reach production.
	// The Discovery gate requires at least one to have Succeeded and none to
	// have Failed.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=16
	Experiments []DiscoveryExperiment `json:"experiments,omitempty"`
}

// Severity of a risk.
// +kubebuilder:validation:Enum=Low;Medium;High;Critical
type Severity string

// Severities.
const (
	SeverityLow      Severity = "Low"
	SeverityMedium   Severity = "Medium"
	SeverityHigh     Severity = "High"
	SeverityCritical Severity = "Critical"
)

// RiskStatus is where a risk stands.
// +kubebuilder:validation:Enum=Open;Mitigated;Accepted
type RiskStatus string

// Risk statuses.
const (
	RiskOpen      RiskStatus = "Open"
	RiskMitigated RiskStatus = "Mitigated"
	RiskAccepted  RiskStatus = "Accepted"
)

// RiskCategory groups risks the way product teams talk about them.
// +kubebuilder:validation:Enum=Value;Usability;Feasibility;Viability;Ethics;Security;Compliance;Operational
type RiskCategory string

// Risk is one entry of the risk register.
// +kubebuilder:validation:XValidation:rule="self.status != 'Mitigated' || (has(self.mitigation) && self.mitigation.size() > 0)",message="a Mitigated risk needs a mitigation"
type Risk struct {
	// name identifies the risk, unique in the register.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9_]*[a-z0-9])?$`
	Name string `json:"name"`
	// description of what could go wrong.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	Description string `json:"description,omitempty"`
	// category of the risk.
	// +optional
	Category RiskCategory `json:"category,omitempty"`
	// severity: Low, Medium, High or Critical.
	// +required
	Severity Severity `json:"severity"`
	// status: Open, Mitigated or Accepted. Default Open. An Accepted High or
	// Critical risk still blocks the Discovery gate: it must be mitigated.
	// +optional
	// +kubebuilder:default=Open
	Status RiskStatus `json:"status,omitempty"`
	// mitigation says what reduces the risk. Required when status is
	// Mitigated.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	Mitigation string `json:"mitigation,omitempty"`
	// owner is the person who answers for the risk.
	// +optional
	// +kubebuilder:validation:MaxLength=256
	Owner string `json:"owner,omitempty"`
}

// ExperimentType is how a candidate meets traffic.
// +kubebuilder:validation:Enum=Shadow;ABTest;Sandbox
type ExperimentType string

const (
	// ExperimentShadow runs the candidate beside production on a mirrored
	// copy of live traffic where the traffic backend can mirror; its answers
	// are not returned to users.
	ExperimentShadow ExperimentType = "Shadow"
	// ExperimentABTest splits live traffic between production (A) and the
	// candidate (B).
	ExperimentABTest ExperimentType = "ABTest"
	// ExperimentSandbox runs the candidate behind its own Service only, with
	// no production traffic.
	ExperimentSandbox ExperimentType = "Sandbox"
)

// DiscoveryExperiment runs a candidate ModelVersion for a while and
// judges it. The operator runs each one as an Experiment object.
// +kubebuilder:validation:XValidation:rule="self.type != 'ABTest' || has(self.trafficPercent)",message="trafficPercent is required for an ABTest experiment"
// +kubebuilder:validation:XValidation:rule="self.type == 'ABTest' || !has(self.trafficPercent)",message="trafficPercent applies only to ABTest experiments"
// +kubebuilder:validation:XValidation:rule="self.type == 'ABTest' || !has(self.headerMatch)",message="headerMatch applies only to ABTest experiments"
// +kubebuilder:validation:XValidation:rule="self.type == 'Shadow' || (!has(self.mirrorFrom) && !has(self.mirrorPercent))",message="mirrorFrom and mirrorPercent apply only to Shadow experiments"
// +kubebuilder:validation:XValidation:rule="duration(self.interval) <= duration(self.duration)",message="interval must not be longer than duration"
type DiscoveryExperiment struct {
	// name identifies the experiment, unique in the list.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name"`
	// type is Shadow, ABTest or Sandbox.
	// +required
	Type ExperimentType `json:"type"`
	// hypothesis is what the team expects to learn.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	Hypothesis string `json:"hypothesis,omitempty"`
	// modelVersion is the name of the candidate ModelVersion, in the
	// product's namespace.
	// +required
	ModelVersion LocalObjectName `json:"modelVersion"`
	// duration is how long the experiment runs before its verdict.
	// +required
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('10s') && duration(self) <= duration('2160h')",message="duration must be between 10s and 90 days"
	Duration metav1.Duration `json:"duration"`
	// interval is how often the success criteria are evaluated. Default 1m.
	// +optional
	// +kubebuilder:default="1m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('5s')",message="interval must be at least 5s"
	Interval metav1.Duration `json:"interval,omitempty"`
	// trafficPercent is the share of live traffic the candidate (B) receives
	// in an ABTest, 1 to 99. Required for ABTest; not allowed otherwise.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=99
	TrafficPercent *int32 `json:"trafficPercent,omitempty"`
	// headerMatch sends requests carrying this header to the candidate
	// instead of splitting by weight. Only with Gateway API traffic routing.
	// +optional
	HeaderMatch *HeaderMatch `json:"headerMatch,omitempty"`
	// mirrorFrom is the Service whose requests a Shadow experiment mirrors
	// to the candidate: a backend of a rule of the product's HTTPRoute,
	// typically the system the model replaces. A Shadow experiment without
	// it mirrors the production version's requests, and so waits for one.
	// +optional
	MirrorFrom *LocalObjectName `json:"mirrorFrom,omitempty"`
	// mirrorPercent is the percentage of requests a Shadow experiment
	// mirrors, 1 to 100 (Gateway API's RequestMirror percent). Default 100.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	MirrorPercent *int32 `json:"mirrorPercent,omitempty"`
	// minSamples is the number of samples (from sampleQuery) each arm must
	// reach before any verdict; with fewer, the experiment ends
	// Inconclusive. Default 0: no minimum.
	// +optional
	// +kubebuilder:validation:Minimum=0
	MinSamples *int64 `json:"minSamples,omitempty"`
	// sampleQuery counts the samples one arm has seen, usually requests. It
	// may use $namespace, $product and $version. Required when minSamples is
	// above 0.
	// +optional
	SampleQuery PromQL `json:"sampleQuery,omitempty"`
	// successCriteria judge the candidate. Every criterion must be met for
	// the experiment to succeed.
	// +required
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=16
	SuccessCriteria []SuccessCriterion `json:"successCriteria"`
}

// HeaderMatch selects requests by an HTTP header.
type HeaderMatch struct {
	// name of the header.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=256
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9!#$%&'*+\-.^_\x60|~]+$`
	Name string `json:"name"`
	// value the header must have: visible characters, spaces and tabs; no
	// line breaks or other control characters, which no header can carry.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=4096
	// +kubebuilder:validation:Pattern=`^[^\x00-\x08\x0A-\x1F\x7F]+$`
	Value string `json:"value"`
}

// SuccessCriterion is one test of an experiment's candidate.
// +kubebuilder:validation:XValidation:rule="!has(self.compareToControl) || self.compareToControl == false || self.threshold.matches('^[-+]?[0-9.]+$')",message="a comparison threshold is a plain relative margin such as 0.05"
type SuccessCriterion struct {
	// name identifies the criterion, unique in the experiment.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9_]*[a-z0-9])?$`
	Name string `json:"name"`
	// query is the PromQL of the criterion, run with $version set to the
	// candidate (and, when compareToControl is true, a second time with
	// $version set to production). It may also use $namespace and $product.
	// +required
	Query PromQL `json:"query"`
	// threshold: without compareToControl, the value the candidate's result
	// is held against. With compareToControl, the relative margin between
	// candidate (B) and production (A): with direction AtLeast and
	// threshold 0.05, B must be at least 5% above A.
	// +required
	Threshold Decimal `json:"threshold"`
	// direction: AtLeast or AtMost.
	// +required
	Direction Direction `json:"direction"`
	// compareToControl judges the candidate against production rather than
	// against a fixed threshold. Meaningful for ABTest and Shadow.
	// +optional
	CompareToControl bool `json:"compareToControl,omitempty"`
}

// DeliverySpec is the Delivery phase.
type DeliverySpec struct {
	// modelVersion chooses the version that should serve production.
	// +required
	ModelVersion ModelVersionSelection `json:"modelVersion"`

	// serving says how a model version is served.
	// +required
	Serving ServingSpec `json:"serving"`

	// rollout says how a new version reaches production. Without it a new
	// version replaces the old one in a single step.
	// +optional
	Rollout *RolloutSpec `json:"rollout,omitempty"`

	// monitoring lists the drift checks on the production model.
	// +optional
	Monitoring *MonitoringSpec `json:"monitoring,omitempty"`

	// retraining says when and how a new version is trained.
	// +optional
	Retraining *RetrainingSpec `json:"retraining,omitempty"`

	// promotion is what a version must show before any traffic reaches it.
	// +optional
	Promotion *PromotionSpec `json:"promotion,omitempty"`

	// evaluation is an independent evaluation the operator runs once for
	// every new version, as a Job of the version's own. When it is set, the
	// promotion policy judges the metrics the evaluation reports, never the
	// ones the trainer reported about its own model.
	// +optional
	Evaluation *EvaluationSpec `json:"evaluation,omitempty"`

	// registry keeps the product's versions in step with the team's model
	// registry: versions registered there appear as ModelVersions, versions
	// the operator registers are registered there, and each version's stage
	// (a promotion, a rollback) is written back (docs/registry.md).
	// +optional
	Registry *RegistrySpec `json:"registry,omitempty"`
}

// RegistrySpec is the model registry a product's versions are synced with.
type RegistrySpec struct {
	// kubeflow is a Kubeflow Model Registry, reached at its REST API
	// (v1alpha3).
	// +required
	Kubeflow KubeflowRegistry `json:"kubeflow"`
	// interval is how often the operator syncs. Default 1m.
	// +optional
	// +kubebuilder:default="1m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1s') && duration(self) <= duration('24h')",message="interval must be between 1s and 24h"
	Interval metav1.Duration `json:"interval,omitempty"`
}

// KubeflowRegistry is where a product's versions live in a Kubeflow Model
// Registry.
type KubeflowRegistry struct {
	// url is the base URL of the registry's REST server, such as
	// http://model-registry-service.kubeflow.svc:8080.
	// +required
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:Pattern=`^https?://[^\s/]+(/[^\s]*)?$`
	URL string `json:"url"`
	// registeredModel is the name of the product's registered model.
	// Default: the product's name. The operator creates it when it is
	// missing.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	RegisteredModel string `json:"registeredModel,omitempty"`
}

// EvaluationSpec is the Job that evaluates a version independently of the
// trainer that made it.
type EvaluationSpec struct {
	// dataset is the evaluation data set, given to the Job as
	// AIPM_DATASET_URI and AIPM_DATASET_DIGEST.
	// +optional
	Dataset *Dataset `json:"dataset,omitempty"`
	// timeout is how long the evaluation may run; the Job's
	// activeDeadlineSeconds. A Job that runs out of time fails the
	// evaluation. Default 30m.
	// +optional
	// +kubebuilder:default="30m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1s') && duration(self) <= duration('168h')",message="timeout must be between 1s and 168h"
	Timeout metav1.Duration `json:"timeout,omitempty"`
	// resultContainer is the container whose termination message carries
	// the result, a container name of the template. Default: the first
	// container.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	ResultContainer string `json:"resultContainer,omitempty"`
	// template is the evaluation Job. The operator adds labels, an owner
	// reference to the version, the deadline, and the AIPM_* environment
	// variables naming the version, its artifact and the data set; its pod
	// is held to the same security policy as a retraining pod.
	// +required
	Template batchv1.JobTemplateSpec `json:"template"`
}

// VersionPolicy chooses between a pinned version and the newest eligible one.
// +kubebuilder:validation:Enum=Pinned;LatestEligible
type VersionPolicy string

const (
	// VersionPinned rolls out exactly the ModelVersion named in name; the
	// GitOps way, since git then says what runs.
	VersionPinned VersionPolicy = "Pinned"
	// VersionLatestEligible rolls out the newest Eligible ModelVersion of the
	// product, by semantic version, as soon as it is Eligible. The choice
	// lives in status, never in spec.
	VersionLatestEligible VersionPolicy = "LatestEligible"
)

// ModelVersionSelection chooses the production version.
// +kubebuilder:validation:XValidation:rule="self.policy != 'Pinned' || has(self.name)",message="name is required when policy is Pinned"
// +kubebuilder:validation:XValidation:rule="self.policy != 'LatestEligible' || !has(self.name)",message="name must not be set when policy is LatestEligible"
type ModelVersionSelection struct {
	// policy is Pinned (default) or LatestEligible.
	// +optional
	// +kubebuilder:default=Pinned
	Policy VersionPolicy `json:"policy,omitempty"`
	// name of the ModelVersion to serve, with policy Pinned.
	// +optional
	Name LocalObjectName `json:"name,omitempty"`
}

// ServingBackend is what runs the model.
// +kubebuilder:validation:Enum=Deployment;KServe
type ServingBackend string

const (
	// BackendDeployment: the operator renders one Deployment per live model
	// version and one Service that selects them all.
	BackendDeployment ServingBackend = "Deployment"
	// BackendKServe: the operator drives an existing KServe
	// InferenceService: its storage URI and canary traffic percentage.
	BackendKServe ServingBackend = "KServe"
)

// ServingSpec says how a model version is served.
// +kubebuilder:validation:XValidation:rule="self.backend != 'KServe' || has(self.inferenceService)",message="inferenceService is required when backend is KServe"
// +kubebuilder:validation:XValidation:rule="self.backend != 'Deployment' || has(self.template)",message="template is required when backend is Deployment"
type ServingSpec struct {
	// backend is Deployment (default) or KServe.
	// +optional
	// +kubebuilder:default=Deployment
	Backend ServingBackend `json:"backend,omitempty"`

	// replicas is the number of pods that serve the whole of the traffic.
	// During a canary they are split between the versions by weight.
	// Default 1.
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	Replicas int32 `json:"replicas,omitempty"`

	// port is the container port that serves predictions; the Service
	// exposes it under the same number. Default 8080.
	// +optional
	// +kubebuilder:default=8080
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Port int32 `json:"port,omitempty"`

	// modelURIEnv is the environment variable through which each serving
	// container learns its model's artifact URI. Default MODEL_URI.
	// +optional
	// +kubebuilder:default=MODEL_URI
	// +kubebuilder:validation:Pattern=`^[A-Za-z_][A-Za-z0-9_]*$`
	// +kubebuilder:validation:MaxLength=128
	ModelURIEnv string `json:"modelURIEnv,omitempty"`

	// template is the pod template of the model server, with backend
	// Deployment. The operator adds the product and version labels and the
	// model URI variable.
	// +optional
	Template *corev1.PodTemplateSpec `json:"template,omitempty"`

	// httpRoute names a Gateway API HTTPRoute in the product's namespace
	// whose backendRefs the operator sets to split traffic by weight. Without
	// it, with backend Deployment, traffic follows the ratio of ready
	// replicas. With backend KServe it is how a canary is split in KServe's
	// Standard (RawDeployment) mode, which cannot split by itself: the
	// canary runs as a second InferenceService, <name>-canary, and the
	// route weighs the two predictor Services.
	// +optional
	HTTPRoute *HTTPRouteRef `json:"httpRoute,omitempty"`

	// inferenceService names the KServe InferenceService to drive, with
	// backend KServe. In Knative (Serverless) mode the operator sets its
	// storageUri and canaryTrafficPercent, and rolls back by setting
	// canaryTrafficPercent to 0; in Standard (RawDeployment) mode a canary
	// below 100% needs httpRoute. ModelMesh is not driven.
	// +optional
	InferenceService *InferenceServiceRef `json:"inferenceService,omitempty"`
}

// HTTPRouteRef points at an HTTPRoute.
type HTTPRouteRef struct {
	// name of the HTTPRoute, in the product's namespace.
	// +required
	Name LocalObjectName `json:"name"`
	// ruleIndex is the rule of the route whose backendRefs the operator
	// owns. Default 0.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=63
	RuleIndex int32 `json:"ruleIndex,omitempty"`
}

// InferenceServiceRef points at a KServe InferenceService.
type InferenceServiceRef struct {
	// name of the InferenceService, in the product's namespace.
	// +required
	Name LocalObjectName `json:"name"`
}

// RolloutSpec is a canary strategy in the style of Argo Rollouts.
type RolloutSpec struct {
	// steps run in order. Each step does exactly one thing: setWeight,
	// pause or analysis. When the last step passes, the new version takes
	// all traffic and becomes Production.
	// +required
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=32
	Steps []RolloutStep `json:"steps"`

	// backgroundAnalysis runs across every step, from the first setWeight to
	// the end. A failure aborts the rollout at any step.
	// +optional
	BackgroundAnalysis *AnalysisSpec `json:"backgroundAnalysis,omitempty"`

	// maxUnavailable is how many of spec.delivery.serving.replicas may be
	// unavailable at any moment of a rollout, its promotion or its abort:
	// a version is scaled down only as far as the other's available pods
	// make up for it. Default 0.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1000
	MaxUnavailable int32 `json:"maxUnavailable,omitempty"`

	// maxSurge is how many pods beyond spec.delivery.serving.replicas the
	// two versions may run together when traffic follows the ratio of
	// their pods (no HTTPRoute or KServe): more pods give weights closer
	// to the steps'. Default 1.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1000
	MaxSurge *int32 `json:"maxSurge,omitempty"`

	// scaleDownDelay is how long the version traffic left keeps running
	// after a traffic router (HTTPRoute, KServe) moved all traffic away
	// from it, for requests already routed to it. Default 30s.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="duration(self) <= duration('1h')",message="scaleDownDelay must be at most 1h"
	ScaleDownDelay *metav1.Duration `json:"scaleDownDelay,omitempty"`

	// progressDeadline is how long the canary may go without being
	// available at its step's size, or while it is promoted at full size,
	// before the rollout is aborted with reason ProgressDeadlineExceeded
	// and the cause its pods report (a crash loop, an image that cannot be
	// pulled). Default 10m.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1s') && duration(self) <= duration('24h')",message="progressDeadline must be between 1s and 24h"
	ProgressDeadline *metav1.Duration `json:"progressDeadline,omitempty"`

	// postPromotion watches business objectives after a promotion and
	// rolls back to the previous production version when one breaks.
	// +optional
	PostPromotion *PostPromotionSpec `json:"postPromotion,omitempty"`
}

// PostPromotionSpec is the watch on a freshly promoted version.
type PostPromotionSpec struct {
	// window is how long after a promotion the watch lasts. The previous
	// production version keeps running at full size for the window, so that
	// a rollback has its capacity at once. Default 1h.
	// +optional
	// +kubebuilder:default="1h"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1s') && duration(self) <= duration('168h')",message="window must be between 1s and 168h"
	Window metav1.Duration `json:"window,omitempty"`
	// objectives are the objectives of spec.strategy.objectives the watch
	// guards: one that stays Missed for its breachFor within the window
	// rolls the product back to the previous production version, and the
	// promoted version is Rejected with the objective named.
	// +required
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=8
	// +kubebuilder:validation:items:MaxLength=63
	Objectives []string `json:"objectives"`
}

// RolloutStep is one step of a canary.
// +kubebuilder:validation:XValidation:rule="[has(self.setWeight), has(self.pause), has(self.analysis)].filter(x, x).size() == 1",message="a step sets exactly one of setWeight, pause or analysis"
type RolloutStep struct {
	// setWeight sends this percentage of traffic, 0 to 100, to the new
	// version.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	SetWeight *int32 `json:"setWeight,omitempty"`

	// pause waits for its duration, or, with no duration, until a person
	// promotes the rollout.
	// +optional
	Pause *PauseStep `json:"pause,omitempty"`

	// analysis queries Prometheus and passes, fails or pauses the rollout.
	// +optional
	Analysis *AnalysisSpec `json:"analysis,omitempty"`
}

// PauseStep waits.
type PauseStep struct {
	// duration of the pause. Omit it to pause until the rollout is promoted
	// by hand.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="duration(self) > duration('0s') && duration(self) <= duration('720h')",message="pause duration must be above 0 and at most 720h"
	Duration *metav1.Duration `json:"duration,omitempty"`
}

// AnalysisSpec judges a version by Prometheus queries, measured count times,
// interval apart.
// +kubebuilder:validation:XValidation:rule="self.failureLimit < self.count",message="failureLimit must be less than count"
// +kubebuilder:validation:XValidation:rule="(has(self.metrics) && size(self.metrics) > 0) || (has(self.objectives) && size(self.objectives) > 0)",message="an analysis needs metrics, objectives, or both"
type AnalysisSpec struct {
	// metrics are judged on each measurement. Queries may use $namespace,
	// $product, $version (the new version), $canaryVersion and
	// $stableVersion.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=16
	Metrics []MetricCheck `json:"metrics,omitempty"`

	// objectives are business objectives of spec.strategy.objectives used
	// as guardrails: on each measurement each one's query runs with
	// $version set to the canary and again to the stable version, and a
	// canary worse than the stable by more than maxObjectiveDegradation
	// fails the measurement, so that a model with better offline metrics
	// that loses business value does not promote. Their queries should
	// use $version. A rollout with no stable version measures none.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=8
	// +kubebuilder:validation:items:MaxLength=63
	Objectives []string `json:"objectives,omitempty"`

	// maxObjectiveDegradation is how much worse than the stable version
	// the canary may do on a guarded objective, relative to the stable's
	// value: 0.1 allows 10% worse. Default 0.05.
	// +optional
	// +kubebuilder:default="0.05"
	MaxObjectiveDegradation Decimal `json:"maxObjectiveDegradation,omitempty"`

	// interval between measurements. Default 1m.
	// +optional
	// +kubebuilder:default="1m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1s') && duration(self) <= duration('24h')",message="interval must be between 1s and 24h"
	Interval metav1.Duration `json:"interval,omitempty"`

	// count is the number of measurements. Default 1.
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	Count int32 `json:"count,omitempty"`

	// failureLimit is how many failed measurements are tolerated; one more
	// aborts the rollout. Default 0.
	// +optional
	// +kubebuilder:default=0
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=99
	FailureLimit int32 `json:"failureLimit"`

	// inconclusiveLimit is how many measurements without data are
	// tolerated; one more pauses the rollout as Inconclusive until it is
	// retried or promoted. Missing data never counts as a pass. Default 0.
	// +optional
	// +kubebuilder:default=0
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=99
	InconclusiveLimit int32 `json:"inconclusiveLimit"`
}

// MonitoringSpec watches the production model.
type MonitoringSpec struct {
	// interval is how often drift is queried. Default 1m; between 5s and
	// 24h.
	// +optional
	// +kubebuilder:default="1m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('5s') && duration(self) <= duration('24h')",message="interval must be between 5s and 24h"
	Interval metav1.Duration `json:"interval,omitempty"`

	// drift lists the drift statistics to watch, one per feature or for the
	// prediction.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=64
	Drift []DriftCheck `json:"drift,omitempty"`
}

// DriftStatistic names a drift statistic.
// +kubebuilder:validation:Enum=PSI;KL;JensenShannon;Wasserstein;KS;ChiSquare;Other
type DriftStatistic string

// Drift statistics.
const (
	StatisticPSI           DriftStatistic = "PSI"
	StatisticKL            DriftStatistic = "KL"
	StatisticJensenShannon DriftStatistic = "JensenShannon"
	StatisticWasserstein   DriftStatistic = "Wasserstein"
	StatisticKS            DriftStatistic = "KS"
	StatisticChiSquare     DriftStatistic = "ChiSquare"
	StatisticOther         DriftStatistic = "Other"
)

// StatisticKind sets which way is worse.
// +kubebuilder:validation:Enum=Distance;PValue
type StatisticKind string

const (
	// KindDistance: higher is worse; a breach is a value above the
	// threshold (PSI, KL, Jensen-Shannon, Wasserstein).
	KindDistance StatisticKind = "Distance"
	// KindPValue: lower is worse; a breach is a value below the threshold
	// (KS and chi-square test p-values).
	KindPValue StatisticKind = "PValue"
)

// DriftCheck is one drift statistic with its threshold.
// +kubebuilder:validation:XValidation:rule="self.statistic != 'Other' || has(self.kind)",message="kind is required when statistic is Other"
// +kubebuilder:validation:XValidation:rule="has(self.histogram) || !has(self.kind) || self.statistic == 'Other' || (self.kind == 'PValue') == (self.statistic in ['KS', 'ChiSquare'])",message="kind contradicts statistic: KS and ChiSquare are PValue, the others Distance"
// +kubebuilder:validation:XValidation:rule="has(self.query) != has(self.histogram)",message="a drift check has either query (the statistic) or histogram (the operator computes it), not both"
// +kubebuilder:validation:XValidation:rule="!has(self.histogram) || self.statistic in ['PSI', 'JensenShannon', 'KS']",message="the operator computes PSI, JensenShannon and KS from a histogram"
// +kubebuilder:validation:XValidation:rule="!has(self.histogram) || !has(self.kind) || self.kind == 'Distance'",message="a statistic computed from a histogram is a Distance (KS as its D statistic)"
// +kubebuilder:validation:XValidation:rule="!has(self.histogram) || !has(self.matchLabels)",message="matchLabels applies to query, not histogram"
type DriftCheck struct {
	// name identifies the check, unique in the list.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9_]*[a-z0-9])?$`
	Name string `json:"name"`
	// feature is the input feature the statistic describes; empty for the
	// model's prediction.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	Feature string `json:"feature,omitempty"`
	// query is the PromQL that returns the statistic for the production
	// version. It may use $namespace, $product and $version. Either query
	// or histogram is required.
	// +optional
	Query PromQL `json:"query,omitempty"`
	// histogram has the operator compute the statistic itself from a
	// feature histogram, now against a reference.
	// +optional
	Histogram *HistogramDrift `json:"histogram,omitempty"`
	// matchLabels makes query a fleet query: written once for many
	// products, it returns a series per product (or per product and
	// version), and this product's statistic is the one series whose labels
	// hold these values. Values may be literal, $namespace, $product or
	// $version (the production version). Every product whose query reads
	// the same (after its variables, where used, are filled in) shares one
	// Prometheus query: a result serves them all for half of each one's
	// monitoring interval. No series for the product reads Unknown, more
	// than one is an error. Without matchLabels the query runs for this
	// product alone and must return a single value.
	// +optional
	// +kubebuilder:validation:XValidation:rule="self.all(k, !self[k].startsWith('$') || self[k] in ['$namespace', '$product', '$version'])",message="matchLabels values may use $namespace, $product and $version only"
	MatchLabels SeriesMatch `json:"matchLabels,omitempty"`
	// threshold is the value beyond which the statistic is a breach.
	// +required
	Threshold Decimal `json:"threshold"`
	// statistic names the statistic; it sets the kind unless statistic is
	// Other.
	// +required
	Statistic DriftStatistic `json:"statistic"`
	// kind is Distance or PValue. Implied by statistic; required with
	// statistic Other.
	// +optional
	Kind StatisticKind `json:"kind,omitempty"`
	// for is how long a breach must last before it counts. Default 5m.
	// +optional
	// +kubebuilder:default="5m"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="duration(self) <= duration('720h')",message="for must be at most 720h"
	For metav1.Duration `json:"for,omitempty"`
}

// HistogramDrift is a feature histogram the operator compares with a
// reference. The statistic is PSI, JensenShannon (the Jensen-Shannon
// distance, base 2, between 0 and 1) or KS (the Kolmogorov-Smirnov D
// statistic: the largest gap between the two cumulative distributions at
// the bucket bounds), and is a Distance.
type HistogramDrift struct {
	// query returns the histogram as cumulative bucket counts, one series
	// per upper bound in the le label, as Prometheus histograms export
	// them: for example
	// sum by (le) (increase(feature_tenure_bucket{product="$product"}[1h])).
	// It may use $namespace, $product and $version. Buckets whose counts
	// are all zero are dropped; the others need not be evenly spaced.
	// +required
	Query PromQL `json:"query"`
	// reference is the distribution the current one is compared with.
	// +required
	Reference DriftReference `json:"reference"`
}

// DriftReference is the distribution drift is measured against: the same
// query at another time.
// +kubebuilder:validation:XValidation:rule="has(self.offset) != (has(self.trainingWindow) && self.trainingWindow)",message="a reference is either offset or trainingWindow"
type DriftReference struct {
	// offset evaluates the same query this long ago: 168h compares this
	// week's inputs with last week's.
	// +optional
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1s') && duration(self) <= duration('8760h')",message="offset must be between 1s and 8760h"
	Offset *metav1.Duration `json:"offset,omitempty"`
	// trainingWindow evaluates the query as of the end of the production
	// version's training window (spec.lineage.dataset.window.end): the
	// query's own range, such as [1h] in increase(...[1h]), then covers the
	// last of the data the model was trained on. A production version that
	// records no window makes the check Unknown.
	// +optional
	TrainingWindow bool `json:"trainingWindow,omitempty"`
}

// ConcurrencyPolicy says what a new retraining run does to a running one.
// +kubebuilder:validation:Enum=Forbid;Replace
type ConcurrencyPolicy string

const (
	// ConcurrencyForbid skips a new run while one is active.
	ConcurrencyForbid ConcurrencyPolicy = "Forbid"
	// ConcurrencyReplace deletes the active run and starts the new one.
	ConcurrencyReplace ConcurrencyPolicy = "Replace"
)

// RetrainingSpec says when and how new versions are trained.
// +kubebuilder:validation:XValidation:rule="has(self.schedule) || self.onDrift || (has(self.onObjectiveBreach) && size(self.onObjectiveBreach) > 0)",message="retraining needs a schedule, onDrift or onObjectiveBreach"
// +kubebuilder:validation:XValidation:rule="(!has(self.backend) || self.backend == 'Job') == has(self.template)",message="template (a Job) is set exactly when backend is Job",fieldPath=".template"
// +kubebuilder:validation:XValidation:rule="(has(self.backend) && self.backend == 'TrainJob') == has(self.trainJob)",message="trainJob is set exactly when backend is TrainJob",fieldPath=".trainJob"
// +kubebuilder:validation:XValidation:rule="(has(self.backend) && self.backend == 'JobSet') == has(self.jobSet)",message="jobSet is set exactly when backend is JobSet",fieldPath=".jobSet"
// +kubebuilder:validation:XValidation:rule="(has(self.backend) && self.backend == 'RayJob') == has(self.rayJob)",message="rayJob is set exactly when backend is RayJob",fieldPath=".rayJob"
// +kubebuilder:validation:XValidation:rule="!has(self.timeZone) || has(self.schedule)",message="timeZone needs a schedule"
type RetrainingSpec struct {
	// schedule is a cron schedule in the standard five fields (minute hour
	// day-of-month month day-of-week), or a macro such as @daily.
	// +optional
	// +kubebuilder:validation:MaxLength=128
	// +kubebuilder:validation:Pattern=`^(@(yearly|annually|monthly|weekly|daily|midnight|hourly)|[0-9*,/\-?LW#A-Za-z]+( +[0-9*,/\-?LW#A-Za-z]+){4})$`
	Schedule string `json:"schedule,omitempty"`
	// timeZone is the IANA time zone of the schedule, such as
	// Europe/Berlin. Default: UTC.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	// +kubebuilder:validation:Pattern=`^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*$`
	// +kubebuilder:validation:XValidation:rule="self != 'Local'",message="timeZone must name an IANA zone; Local would be the operator's own"
	TimeZone *string `json:"timeZone,omitempty"`
	// onDrift starts a run when a drift check has been in breach for its
	// full for duration.
	// +optional
	OnDrift bool `json:"onDrift,omitempty"`
	// onObjectiveBreach names objectives of spec.strategy.objectives whose
	// breach starts a run (trigger Objective): one that stays Missed for
	// its breachFor while no rollout runs. One breach starts one run.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=8
	// +kubebuilder:validation:items:MaxLength=63
	OnObjectiveBreach []string `json:"onObjectiveBreach,omitempty"`
	// cooldown is the least time between the end of one run and the start
	// of the next, whatever triggers it. Default 1h.
	// +optional
	// +kubebuilder:default="1h"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:Pattern=`^([0-9]+(\.[0-9]+)?(ns|us|ms|s|m|h))+$`
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="duration(self) <= duration('2160h')",message="cooldown must be at most 2160h"
	Cooldown metav1.Duration `json:"cooldown,omitempty"`
	// concurrencyPolicy is Forbid (default) or Replace.
	// +optional
	// +kubebuilder:default=Forbid
	ConcurrencyPolicy ConcurrencyPolicy `json:"concurrencyPolicy,omitempty"`
	// startingDeadlineSeconds: a scheduled run missed by more than this is
	// skipped, as with a CronJob. Default: no deadline.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=2592000
	StartingDeadlineSeconds *int64 `json:"startingDeadlineSeconds,omitempty"`
	// successfulJobsHistoryLimit is how many succeeded RetrainingRuns (and
	// so their Jobs) are kept. Default 3.
	// +optional
	// +kubebuilder:default=3
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	SuccessfulJobsHistoryLimit int32 `json:"successfulJobsHistoryLimit"`
	// failedJobsHistoryLimit is how many failed RetrainingRuns (and so
	// their Jobs) are kept. Default 1.
	// +optional
	// +kubebuilder:default=1
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	FailedJobsHistoryLimit int32 `json:"failedJobsHistoryLimit"`
	// resultContainer is the container whose termination message carries
	// the training result. Default: the first container of the Job's pod,
	// of the result job's pod (JobSet), of the submitter (RayJob); node for
	// a TrainJob, the container Kubeflow Trainer runs the trainer in.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	ResultContainer string `json:"resultContainer,omitempty"`
	// backend is the engine that trains: Job (a batch/v1 Job, the
	// default), TrainJob (Kubeflow Trainer), JobSet or RayJob (KubeRay).
	// Exactly the field of that name holds the workload's template.
	// +optional
	// +kubebuilder:default=Job
	Backend TrainingBackend `json:"backend,omitempty"`
	// template is the Job that trains a new version (backend Job). The
	// operator adds labels, an owner reference and the AIPM_* environment
	// variables.
	// +optional
	Template *batchv1.JobTemplateSpec `json:"template,omitempty"`
	// trainJob is the Kubeflow Trainer TrainJob (trainer.kubeflow.org/
	// v1alpha1) that trains a new version (backend TrainJob): its metadata
	// and spec, a runtimeRef and the trainer's settings. The result comes
	// from the rank-0 pod of the runtime's node job (docs/backends/trainjob.md).
	// +optional
	TrainJob *WorkloadTemplate `json:"trainJob,omitempty"`
	// jobSet is the JobSet (jobset.x-k8s.io/v1alpha2) that trains a new
	// version (backend JobSet). The result comes from the first pod of the
	// first job of resultJob (docs/backends/jobset.md).
	// +optional
	JobSet *WorkloadTemplate `json:"jobSet,omitempty"`
	// rayJob is the KubeRay RayJob (ray.io/v1) that trains a new version
	// (backend RayJob). The result comes from its submitter pod
	// (docs/backends/rayjob.md).
	// +optional
	RayJob *WorkloadTemplate `json:"rayJob,omitempty"`
	// resultJob is the replicated job of a JobSet whose first pod reports
	// the result (backend JobSet). Default: the first replicated job.
	// +optional
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`
	ResultJob string `json:"resultJob,omitempty"`
}

// WorkloadTemplate is the object a training engine runs, as its own API
// defines it: labels, annotations and spec. The admission webhook decodes
// the spec strictly as the engine's Go types do, so an unknown field or a
// wrong type is refused when the product is written; the operator adds its
// labels, the AIPM_* environment and the restricted security context.
type WorkloadTemplate struct {
	// metadata holds the labels and annotations the workload gets.
	// +optional
	Metadata WorkloadMetadata `json:"metadata,omitempty"`
	// spec is the workload's spec in the engine's own schema.
	// +required
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	Spec runtime.RawExtension `json:"spec"`
}

// WorkloadMetadata is the metadata a template may set.
type WorkloadMetadata struct {
	// labels of the workload.
	// +optional
	Labels map[string]string `json:"labels,omitempty"`
	// annotations of the workload.
	// +optional
	Annotations map[string]string `json:"annotations,omitempty"`
}

// PromotionSpec is what a version must show before any traffic reaches it.
type PromotionSpec struct {
	// requirements are floors and ceilings on the version's evaluation
	// metrics (accuracy, AUC, fairness gaps such as demographic parity
	// difference). A version that lacks a required metric is not Eligible.
	// +optional
	// +listType=map
	// +listMapKey=metric
	// +kubebuilder:validation:MaxItems=32
	Requirements []MetricRequirement `json:"requirements,omitempty"`

	// mustBeatProduction requires a new version to do better than the
	// production version on these metrics.
	// +optional
	// +listType=map
	// +listMapKey=metric
	// +kubebuilder:validation:MaxItems=16
	MustBeatProduction []ProductionComparison `json:"mustBeatProduction,omitempty"`

	// approvals are the roles of spec.owners whose sign-off a promotion
	// needs: when the canary has passed every step, the rollout waits,
	// Paused, until each role has approved it with an Approval, and a
	// rejection aborts it.
	// +optional
	// +listType=set
	// +kubebuilder:validation:MaxItems=4
	Approvals []Role `json:"approvals,omitempty"`

	// slices are fairness requirements on one metric across the groups
	// (slices) of the evaluation data: a floor for every group, a ceiling
	// on the gap between the best- and worst-served group, a least ratio
	// between them.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=16
	Slices []SliceRequirement `json:"slices,omitempty"`
}

// SliceRequirement holds one metric to account across the slices of one
// label: the metric's values whose slice is exactly {by: <group>}.
// +kubebuilder:validation:XValidation:rule="has(self.min) || has(self.max) || has(self.maxGap) || has(self.minRatio)",message="a slice requirement needs min, max, maxGap or minRatio"
// +kubebuilder:validation:XValidation:rule="!has(self.min) || !has(self.max) || double(self.min) <= double(self.max)",message="min must not be above max"
// +kubebuilder:validation:XValidation:rule="!has(self.maxGap) || double(self.maxGap) >= 0.0",message="maxGap must not be negative"
// +kubebuilder:validation:XValidation:rule="!has(self.minRatio) || (double(self.minRatio) > 0.0 && double(self.minRatio) <= 1.0)",message="minRatio must be above 0 and at most 1"
type SliceRequirement struct {
	// metric is the name of an evaluation metric reported per slice.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`
	Metric string `json:"metric"`
	// by is the slice label whose values are the groups, such as group.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-zA-Z_][a-zA-Z0-9_]*$`
	By string `json:"by"`
	// minSlices is how many groups must be reported; fewer leaves the
	// version not Eligible, since a gap or ratio over one group says
	// nothing. Default 2.
	// +optional
	// +kubebuilder:default=2
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=64
	MinSlices int32 `json:"minSlices,omitempty"`
	// min is the floor every group must reach.
	// +optional
	Min *Decimal `json:"min,omitempty"`
	// max is the ceiling no group may pass.
	// +optional
	Max *Decimal `json:"max,omitempty"`
	// maxGap is the largest difference allowed between the highest and the
	// lowest group's value, such as 0.05 for an equal-opportunity gap in
	// recall.
	// +optional
	MaxGap *Decimal `json:"maxGap,omitempty"`
	// minRatio is the least ratio allowed of the lowest group's value to
	// the highest's, above 0 and at most 1: 0.8 is the four-fifths rule on
	// selection rate.
	// +optional
	MinRatio *Decimal `json:"minRatio,omitempty"`
}

// MetricRequirement bounds one evaluation metric.
// +kubebuilder:validation:XValidation:rule="has(self.min) || has(self.max)",message="a requirement needs min, max, or both"
// +kubebuilder:validation:XValidation:rule="!has(self.min) || !has(self.max) || double(self.min) <= double(self.max)",message="min must not be above max"
type MetricRequirement struct {
	// metric is the name of an evaluation metric of the ModelVersion.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`
	Metric string `json:"metric"`
	// min is the floor: the metric must be at least this.
	// +optional
	Min *Decimal `json:"min,omitempty"`
	// max is the ceiling: the metric must be at most this.
	// +optional
	Max *Decimal `json:"max,omitempty"`
}

// Better says which way of a metric is better.
// +kubebuilder:validation:Enum=Higher;Lower
type Better string

// Directions of improvement.
const (
	HigherIsBetter Better = "Higher"
	LowerIsBetter  Better = "Lower"
)

// ProductionComparison requires a new version to beat production on one
// metric.
type ProductionComparison struct {
	// metric is the name of an evaluation metric present on both versions.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$`
	Metric string `json:"metric"`
	// better is Higher or Lower.
	// +required
	Better Better `json:"better"`
	// minImprovement is the least absolute improvement over production.
	// Default 0: not worse.
	// +optional
	MinImprovement *Decimal `json:"minImprovement,omitempty"`
}

// AIProductStatus is what the operator observed and decided. The operator
// owns it, whole: the API server tracks its ownership as one field, not
// field by field, since one writer has no use for the finer record and
// every status write paid for it (docs/benchmarks.md).
// +structType=atomic
type AIProductStatus struct {
	// observedGeneration is the generation of the spec this status
	// describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// phase is the phase the product has reached.
	// +optional
	Phase ProductPhase `json:"phase,omitempty"`

	// phaseHistory records the last phase changes, newest last.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=20
	PhaseHistory []PhaseTransition `json:"phaseHistory,omitempty"`

	// gates shows each phase gate and what blocks it.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=8
	Gates []GateStatus `json:"gates,omitempty"`

	// objectives shows each objective's latest value against its target.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=32
	Objectives []ObjectiveStatus `json:"objectives,omitempty"`

	// productionVersion is the ModelVersion serving production.
	// +optional
	ProductionVersion string `json:"productionVersion,omitempty"`

	// desiredVersion is the version the operator is working to put in
	// production: the pinned one, or the newest Eligible one.
	// +optional
	DesiredVersion string `json:"desiredVersion,omitempty"`

	// rollout is the canary in progress or the last one.
	// +optional
	Rollout *RolloutStatus `json:"rollout,omitempty"`

	// drift shows each drift check's latest value against its threshold.
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=64
	Drift []DriftStatus `json:"drift,omitempty"`

	// driftState summarises drift: None, Breached (not yet for its full
	// for), Drifted or Unknown.
	// +optional
	DriftState string `json:"driftState,omitempty"`

	// retraining shows the last and next retraining runs.
	// +optional
	Retraining *RetrainingStatus `json:"retraining,omitempty"`

	// registry shows the last sync with the model registry.
	// +optional
	Registry *RegistryStatus `json:"registry,omitempty"`

	// liveExperiment is the Experiment the product lets take live traffic
	// now. Live-traffic experiments (Shadow, ABTest) run one at a time, in
	// the order of spec.discovery.experiments, and never during a rollout;
	// the Experiment named here starts, the others wait.
	// +optional
	LiveExperiment string `json:"liveExperiment,omitempty"`

	// lastRequest is the last manual request (promote, abort, retry,
	// retrain, rerun) the operator acted on.
	// +optional
	LastRequest *RequestStatus `json:"lastRequest,omitempty"`

	// conditions: Ready, Reconciling, Stalled, StrategyGate, DiscoveryGate,
	// ObjectivesMet, ExperimentsReady, Serving, Drifted, RetrainingAllowed
	// (docs/conditions.md).
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// RequestStatus acknowledges a manual request made by annotation.
type RequestStatus struct {
	// action is the request: Promote, Abort, Retry, Retrain or Rerun.
	// +required
	Action string `json:"action"`
	// value is the annotation's value.
	// +optional
	Value string `json:"value,omitempty"`
	// handledAt is when the operator acted on it.
	// +required
	HandledAt metav1.Time `json:"handledAt"`
	// result says what the operator did, or why it did nothing.
	// +optional
	Result string `json:"result,omitempty"`
}

// PhaseTransition is one phase change.
type PhaseTransition struct {
	// from is the phase left.
	// +optional
	From ProductPhase `json:"from,omitempty"`
	// to is the phase entered.
	// +required
	To ProductPhase `json:"to"`
	// time of the change.
	// +required
	Time metav1.Time `json:"time"`
	// reason is why: GatesPassed, Requested (moving back or retiring).
	// +optional
	Reason string `json:"reason,omitempty"`
}

// GateStatus is one phase gate.
type GateStatus struct {
	// name of the gate: Strategy (out of Strategy) or Discovery (out of
	// Discovery).
	// +required
	Name string `json:"name"`
	// passed is true when every requirement of the gate holds.
	// +required
	Passed bool `json:"passed"`
	// blockers says, one line each, what keeps the gate closed.
	// +optional
	// +listType=atomic
	Blockers []string `json:"blockers,omitempty"`
}

// ObjectiveStatus is one objective's latest evaluation.
type ObjectiveStatus struct {
	// name of the objective.
	// +required
	Name string `json:"name"`
	// value is the latest result of the query; empty when Unknown.
	// +optional
	Value Decimal `json:"value,omitempty"`
	// target copied from the spec.
	// +required
	Target Decimal `json:"target"`
	// direction copied from the spec.
	// +required
	Direction Direction `json:"direction"`
	// result: Met, Missed or Unknown.
	// +required
	Result CheckResult `json:"result"`
	// message explains an Unknown result.
	// +optional
	Message string `json:"message,omitempty"`
	// lastTransitionTime is when result last changed. The evaluation time
	// itself is not recorded, so that an unchanged objective costs no write.
	// +optional
	LastTransitionTime *metav1.Time `json:"lastTransitionTime,omitempty"`
}

// RolloutPhase is where a rollout stands.
// +kubebuilder:validation:Enum=Progressing;Paused;Inconclusive;Promoting;Aborting;Succeeded;Aborted
type RolloutPhase string

// Rollout phases.
const (
	RolloutProgressing  RolloutPhase = "Progressing"
	RolloutPaused       RolloutPhase = "Paused"
	RolloutInconclusive RolloutPhase = "Inconclusive"
	// RolloutPromoting: the canary passed and is being scaled to full size;
	// it takes all traffic once it is available, and is then Succeeded.
	RolloutPromoting RolloutPhase = "Promoting"
	// RolloutAborting: the canary failed and the stable is being restored
	// to full size; traffic returns to it once it is available, and the
	// rollout is then Aborted.
	RolloutAborting  RolloutPhase = "Aborting"
	RolloutSucceeded RolloutPhase = "Succeeded"
	RolloutAborted   RolloutPhase = "Aborted"
)

// RolloutStatus is a canary's progress.
type RolloutStatus struct {
	// stableVersion is the version that served before the rollout.
	// +optional
	StableVersion string `json:"stableVersion,omitempty"`
	// canaryVersion is the version being rolled out.
	// +required
	CanaryVersion string `json:"canaryVersion"`
	// phase: Progressing, Paused or Inconclusive while the steps run;
	// Promoting or Aborting while traffic moves to the version that won;
	// then Succeeded or Aborted.
	// +required
	Phase RolloutPhase `json:"phase"`
	// step is the index of the current step.
	// +optional
	Step int32 `json:"step"`
	// weight is the percentage of traffic the current step asks for the
	// canary.
	// +optional
	Weight int32 `json:"weight"`
	// effectiveWeight is the percentage of requests the canary receives
	// now: the weight its traffic router holds or, without one, its share
	// of the ready pods of both versions. It differs from weight while the
	// canary's pods start, and when the replicas cannot give the weight
	// (condition TrafficSplit).
	// +optional
	EffectiveWeight int32 `json:"effectiveWeight"`
	// message says what the rollout waits for, or why it ended.
	// +optional
	Message string `json:"message,omitempty"`
	// reason is why a finished rollout ended, CamelCase: Promoted,
	// PromotedByRequest, AnalysisFailed, AbortedByRequest,
	// ProgressDeadlineExceeded, ApprovalRejected, PostPromotionRollback or
	// Abandoned (a newer choice replaced the canary, which goes back to
	// Candidate).
	// +optional
	Reason string `json:"reason,omitempty"`
	// startedAt is when the rollout began.
	// +optional
	StartedAt *metav1.Time `json:"startedAt,omitempty"`
	// stepStartedAt is when the current step began.
	// +optional
	StepStartedAt *metav1.Time `json:"stepStartedAt,omitempty"`
	// finishedAt is when the rollout succeeded or aborted.
	// +optional
	FinishedAt *metav1.Time `json:"finishedAt,omitempty"`
	// canaryUnavailableSince is when the canary was last seen not
	// available at the size its step or promotion needs; the rollout is
	// aborted once that lasts spec.delivery.rollout.progressDeadline.
	// +optional
	CanaryUnavailableSince *metav1.Time `json:"canaryUnavailableSince,omitempty"`
	// scaleDownAt is when the version traffic left at the end of the
	// rollout is removed: scaleDownDelay after a traffic router moved all
	// traffic away from it.
	// +optional
	ScaleDownAt *metav1.Time `json:"scaleDownAt,omitempty"`
	// analysis shows the current analysis step's measurements.
	// +optional
	// +listType=map
	// +listMapKey=name
	Analysis []AnalysisMetricStatus `json:"analysis,omitempty"`
	// lastMeasuredAt is when the current analysis step last measured.
	// +optional
	LastMeasuredAt *metav1.Time `json:"lastMeasuredAt,omitempty"`
	// backgroundAnalysis shows the background analysis' measurements.
	// +optional
	// +listType=map
	// +listMapKey=name
	BackgroundAnalysis []AnalysisMetricStatus `json:"backgroundAnalysis,omitempty"`
	// backgroundMeasuredAt is when the background analysis last measured.
	// +optional
	BackgroundMeasuredAt *metav1.Time `json:"backgroundMeasuredAt,omitempty"`
	// approvals are the decisions on the canary's promotion that count:
	// the newest of each role its product's promotion.approvals names,
	// made by the person spec.owners names for the role.
	// +optional
	// +listType=map
	// +listMapKey=role
	// +kubebuilder:validation:MaxItems=4
	Approvals []ApprovalRecord `json:"approvals,omitempty"`
	// prometheusUnavailableSince is set while the rollout is Inconclusive
	// because Prometheus gave no answer (unreachable, timing out, failing).
	// Such a pause counts no measurement and ends by itself: the analysis
	// resumes where it was once Prometheus answers again.
	// +optional
	PrometheusUnavailableSince *metav1.Time `json:"prometheusUnavailableSince,omitempty"`
}

// ApprovalRecord is one decision on a promotion, as the rollout counts it.
type ApprovalRecord struct {
	// role the approver signed as.
	// +required
	Role Role `json:"role"`
	// approver is the user, as the API server named them.
	// +required
	Approver string `json:"approver"`
	// decision: Approve or Reject.
	// +required
	Decision Decision `json:"decision"`
	// approval is the name of the Approval.
	// +required
	Approval string `json:"approval"`
	// time is when the decision was made: the Approval's creation.
	// +required
	Time metav1.Time `json:"time"`
	// comment copied from the Approval.
	// +optional
	Comment string `json:"comment,omitempty"`
}

// AnalysisMetricStatus is one analysis metric's measurements.
type AnalysisMetricStatus struct {
	// name of the metric.
	// +required
	Name string `json:"name"`
	// value is the last measured value.
	// +optional
	Value Decimal `json:"value,omitempty"`
	// threshold copied from the spec.
	// +optional
	Threshold Decimal `json:"threshold,omitempty"`
	// result of the last measurement.
	// +optional
	Result CheckResult `json:"result,omitempty"`
	// measurements, failures and inconclusives taken so far.
	// +optional
	Measurements int32 `json:"measurements"`
	// failures counted so far.
	// +optional
	Failures int32 `json:"failures"`
	// inconclusives counted so far.
	// +optional
	Inconclusives int32 `json:"inconclusives"`
}

// DriftStatus is one drift check's latest evaluation.
type DriftStatus struct {
	// name of the check.
	// +required
	Name string `json:"name"`
	// feature copied from the spec.
	// +optional
	Feature string `json:"feature,omitempty"`
	// value is the latest statistic; empty when Unknown.
	// +optional
	Value Decimal `json:"value,omitempty"`
	// threshold copied from the spec.
	// +required
	Threshold Decimal `json:"threshold"`
	// result: Met (no breach), Missed (breach) or Unknown.
	// +required
	Result CheckResult `json:"result"`
	// breachedSince is when the current breach began.
	// +optional
	BreachedSince *metav1.Time `json:"breachedSince,omitempty"`
	// sustained is true once the breach has lasted the check's for.
	// +optional
	Sustained bool `json:"sustained,omitempty"`
	// message explains an Unknown result.
	// +optional
	Message string `json:"message,omitempty"`
}

// RetrainingStatus summarises the product's RetrainingRuns; each run's
// own status holds its details.
type RetrainingStatus struct {
	// lastRun is the newest RetrainingRun.
	// +optional
	LastRun *RetrainingRunSummary `json:"lastRun,omitempty"`
	// active names the RetrainingRuns not yet finished.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=8
	Active []string `json:"active,omitempty"`
	// lastScheduleTime is the last schedule tick acted on.
	// +optional
	LastScheduleTime *metav1.Time `json:"lastScheduleTime,omitempty"`
	// nextScheduleTime is the next schedule tick.
	// +optional
	NextScheduleTime *metav1.Time `json:"nextScheduleTime,omitempty"`
	// lastDriftEpisode is the start of the drift breach the last drift run
	// answered; the same episode never triggers a second run.
	// +optional
	LastDriftEpisode *metav1.Time `json:"lastDriftEpisode,omitempty"`
	// lastObjectiveEpisode is the start of the objective breach the last
	// Objective run answered; the same breach never triggers a second run.
	// +optional
	LastObjectiveEpisode *metav1.Time `json:"lastObjectiveEpisode,omitempty"`
	// pending says what trigger waits, and for what (cooldown, a running
	// run).
	// +optional
	Pending string `json:"pending,omitempty"`
}

// RegistryStatus is what the last sync with the model registry did.
type RegistryStatus struct {
	// registeredModelID is the registered model's id in the registry.
	// +optional
	RegisteredModelID string `json:"registeredModelID,omitempty"`
	// lastSyncTime is when the last sync that reached the registry ended.
	// +optional
	LastSyncTime *metav1.Time `json:"lastSyncTime,omitempty"`
	// versions is how many of the product's versions the registry and the
	// cluster both hold after the last sync.
	// +optional
	Versions int32 `json:"versions,omitempty"`
	// skipped names registry versions the operator cannot take, and why,
	// such as a version name that is no semantic version.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=16
	Skipped []string `json:"skipped,omitempty"`
}

// RetrainingRunSummary is the product's view of one RetrainingRun.
type RetrainingRunSummary struct {
	// name of the RetrainingRun.
	// +required
	Name string `json:"name"`
	// trigger: Schedule, Drift, Objective or Manual.
	// +required
	Trigger TrainingTrigger `json:"trigger"`
	// phase of the run: Pending, Running, Succeeded or Failed.
	// +optional
	Phase RunPhase `json:"phase,omitempty"`
	// modelVersion is the version the run registered.
	// +optional
	ModelVersion string `json:"modelVersion,omitempty"`
	// completionTime is when the run finished.
	// +optional
	CompletionTime *metav1.Time `json:"completionTime,omitempty"`
}

// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=aip,categories=aipm
// +kubebuilder:printcolumn:name="Phase",type=string,JSONPath=`.status.phase`
// +kubebuilder:printcolumn:name="Target",type=string,JSONPath=`.spec.phase`,priority=1
// +kubebuilder:printcolumn:name="Production",type=string,JSONPath=`.status.productionVersion`
// +kubebuilder:printcolumn:name="Weight",type=integer,JSONPath=`.status.rollout.weight`
// +kubebuilder:printcolumn:name="Drift",type=string,JSONPath=`.status.driftState`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`

// AIProduct is an AI product across strategy, discovery and delivery: its
// objectives, risks and experiments, the model version it serves, how new
// versions roll out, and when it retrains.
type AIProduct struct {
	metav1.TypeMeta `json:",inline"`

	// metadata is standard object metadata.
	// +optional
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// spec is the product as its team declares it.
	// +required
	Spec AIProductSpec `json:"spec"`

	// status is what the operator observed and decided.
	// It reads observedGeneration 0 until the operator first writes it, so
	// that kstatus readers (kubectl wait, Flux, the cli-utils applier) see a
	// new object as InProgress, not Current.
	// +optional
	// +kubebuilder:default={observedGeneration: 0}
	Status AIProductStatus `json:"status,omitempty"`
}

// +kubebuilder:object:root=true

// AIProductList contains a list of AIProduct.
type AIProductList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []AIProduct `json:"items"`
}

func init() {
	SchemeBuilder.Register(&AIProduct{}, &AIProductList{})
}
