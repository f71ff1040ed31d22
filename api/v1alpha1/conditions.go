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

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// This file is the operator's public status contract: every condition type
// and reason it writes, which kind writes which condition, and which status
// of each is the healthy one. Tools (Argo CD health checks, alert rules,
// dashboards) and people read these names; they change only with the API
// version.

// Condition types of every kind. Ready, Reconciling and Stalled follow the
// kstatus convention, so kubectl wait, Argo CD and Flux read them without
// custom code. Reconciling and Stalled are removed, not set False, when they
// do not hold.
const (
	// ConditionReady is True when the object has been reconciled and its
	// observed state matches its spec.
	ConditionReady = "Ready"
	// ConditionReconciling is True while the operator is still acting on the
	// latest generation, or waiting for something it needs.
	ConditionReconciling = "Reconciling"
	// ConditionStalled is True when the operator cannot make progress without
	// a change from a person, such as an invalid schedule or a rolled-back
	// canary.
	ConditionStalled = "Stalled"
)

// Condition types of an AIProduct, one per part of its reconcile, so that a
// part that fails says so without hiding the state of the others.
const (
	// ConditionStrategyGate is True when the product may leave Strategy.
	ConditionStrategyGate = "StrategyGate"
	// ConditionDiscoveryGate is True when the product may leave Discovery.
	ConditionDiscoveryGate = "DiscoveryGate"
	// ConditionObjectivesMet is True when every objective meets its target,
	// False when one misses, Unknown when one cannot be measured.
	ConditionObjectivesMet = "ObjectivesMet"
	// ConditionExperimentsReady is True when every experiment of
	// spec.discovery.experiments has its Experiment object, False when the
	// operator could not create or remove one.
	ConditionExperimentsReady = "ExperimentsReady"
	// ConditionServing is True when the production version serves.
	ConditionServing = "Serving"
	// ConditionTrafficSplit is False, during a rollout, when the canary's
	// replicas cannot give the weight its step asks for (traffic follows
	// the ratio of pods and the replicas are too few); the message gives
	// the share they do give.
	ConditionTrafficSplit = "TrafficSplit"
	// ConditionDrifted is True when a drift check has been in breach for
	// its full for duration.
	ConditionDrifted = "Drifted"
	// ConditionRetrainingAllowed is False when the retraining Job template
	// asks for a ServiceAccount the operator does not allow, breaks the
	// restricted Pod Security Standard, or has a schedule that cannot run;
	// no run starts until a person fixes it.
	ConditionRetrainingAllowed = "RetrainingAllowed"
	// ConditionRegistrySynced is True when the last sync with the model
	// registry (spec.delivery.registry) completed, False while the registry
	// cannot be reached or refuses what the operator sends.
	ConditionRegistrySynced = "RegistrySynced"
)

// Condition types of a ModelVersion.
const (
	// ConditionEligible is True on a ModelVersion that meets its product's
	// promotion policy.
	ConditionEligible = "Eligible"
)

// Condition types of a RetrainingRun.
const (
	// ConditionSucceeded is True once a run has registered its
	// ModelVersion, False once it has failed; absent while it runs.
	ConditionSucceeded = "Succeeded"
)

// Reasons shared by every kind.
const (
	// ReasonReconciled: the latest generation has been acted on.
	ReasonReconciled = "Reconciled"
	// ReasonProgressing: the operator is acting on the latest generation.
	ReasonProgressing = "Progressing"
	// ReasonWaiting: the operator waits for a dependency to appear.
	ReasonWaiting = "Waiting"
	// ReasonReconcileError: a step failed for a reason that may pass (the
	// API server refused a write); the operator retries with backoff.
	ReasonReconcileError = "ReconcileError"
	// ReasonProductNotFound: the object names an AIProduct that does not
	// exist (yet): objects may arrive in any order under GitOps.
	ReasonProductNotFound = "ProductNotFound"
)

// Reasons of the AIProduct's conditions.
const (
	// ReasonGatePassed: every requirement of a phase gate holds.
	ReasonGatePassed = "GatePassed"
	// ReasonGateBlocked: the product waits in a phase for its gate.
	ReasonGateBlocked = "GateBlocked"
	// ReasonAvailable: the production version serves.
	ReasonAvailable = "Available"
	// ReasonServingProgressing: serving objects are not yet available.
	ReasonServingProgressing = "ServingProgressing"
	// ReasonCanary: a canary receives part of the traffic.
	ReasonCanary = "Canary"
	// ReasonRolloutAborted: the last canary was rolled back; a person
	// retries it or chooses another version.
	ReasonRolloutAborted = "RolloutAborted"
	// ReasonPromoting: the canary passed and is scaled to full size before
	// it takes all traffic.
	ReasonPromoting = "Promoting"
	// ReasonAborting: the canary failed and the stable is restored to full
	// size before traffic returns to it.
	ReasonAborting = "Aborting"
	// ReasonWeightMet: the canary receives the weight its step asks for.
	ReasonWeightMet = "WeightMet"
	// ReasonWeightUnreachable: the replicas cannot give the step's weight.
	ReasonWeightUnreachable = "WeightUnreachable"
	// ReasonRouteRequired: the InferenceService runs in KServe's Standard
	// mode, which cannot split traffic by itself, and the product names
	// no HTTPRoute to split it with.
	ReasonRouteRequired = "RouteRequired"
	// ReasonDeploymentModeUnsupported: the InferenceService runs in a
	// KServe deployment mode the operator does not drive (ModelMesh).
	ReasonDeploymentModeUnsupported = "DeploymentModeUnsupported"
	// ReasonCanaryNameTaken: an InferenceService the product does not own
	// has the name its canary would take.
	ReasonCanaryNameTaken = "CanaryNameTaken"
	// ReasonRetired: the product is retired and serves nothing.
	ReasonRetired = "Retired"
	// ReasonNoDrift: every drift check is within its threshold.
	ReasonNoDrift = "NoDrift"
	// ReasonDriftSustained: a drift check has breached for its for.
	ReasonDriftSustained = "DriftSustained"
	// ReasonBreachNotSustained: a breach has not lasted its for yet.
	ReasonBreachNotSustained = "BreachNotSustained"
	// ReasonDriftUnknown: a drift statistic could not be measured.
	ReasonDriftUnknown = "DriftUnknown"
	// ReasonTemplateAllowed: the retraining template may run.
	ReasonTemplateAllowed = "TemplateAllowed"
	// ReasonTemplateRefused: the retraining template breaks the policy.
	ReasonTemplateRefused = "TemplateRefused"
	// ReasonInvalidSchedule: the retraining schedule or time zone cannot
	// be parsed on this operator (a time zone its image does not know).
	ReasonInvalidSchedule = "InvalidSchedule"
	// ReasonExperimentsApplied: every experiment has its object.
	ReasonExperimentsApplied = "ExperimentsApplied"
	// ReasonExperimentsError: an Experiment could not be created or removed.
	ReasonExperimentsError = "ExperimentsError"
	// ReasonOwnersMissing, ReasonObjectivesMissing and
	// ReasonAssessmentIncomplete close the Strategy gate.
	ReasonOwnersMissing        = "OwnersMissing"
	ReasonObjectivesMissing    = "ObjectivesMissing"
	ReasonAssessmentIncomplete = "AssessmentIncomplete"
	// ReasonRiskUnmitigated, ReasonNoExperiment, ReasonExperimentFailed
	// and ReasonNoExperimentSucceeded close the Discovery gate.
	ReasonRiskUnmitigated       = "RiskUnmitigated"
	ReasonNoExperiment          = "NoExperiment"
	ReasonExperimentFailed      = "ExperimentFailed"
	ReasonNoExperimentSucceeded = "NoExperimentSucceeded"
	// ReasonObjectiveUnmeasured: an objective marked required has no value
	// yet (Unknown), so the product may not enter Delivery.
	ReasonObjectiveUnmeasured = "ObjectiveUnmeasured"
	// ReasonNoEligibleVersion, ReasonVersionNotEligible,
	// ReasonVersionNotFound and ReasonVersionNotEvaluated say why no
	// version can be served or rolled out; the last is a wait for the
	// version's verdict.
	ReasonNoEligibleVersion   = "NoEligibleVersion"
	ReasonVersionNotEligible  = "VersionNotEligible"
	ReasonVersionNotFound     = "VersionNotFound"
	ReasonVersionNotEvaluated = "VersionNotEvaluated"
	// ReasonRolloutProgressing, ReasonRolloutPaused and
	// ReasonRolloutInconclusive: a canary is under way.
	ReasonRolloutProgressing = "Rollout" + string(RolloutProgressing)
	ReasonRolloutPaused      = "Rollout" + string(RolloutPaused)
	// ReasonAwaitingApproval: the canary passed every step and its
	// promotion waits for the sign-off of the roles the message names.
	ReasonAwaitingApproval    = "AwaitingApproval"
	ReasonRolloutInconclusive = "Rollout" + string(RolloutInconclusive)
	// ReasonObjectivesMet, ReasonObjectiveMissed and
	// ReasonObjectiveUnknown summarise the objectives.
	ReasonObjectivesMet    = "ObjectivesMet"
	ReasonObjectiveMissed  = "ObjectiveMissed"
	ReasonObjectiveUnknown = "ObjectiveUnknown"
)

// Reasons of the ModelVersion's conditions.
const (
	// ReasonPolicyMet: the version meets its product's promotion policy.
	ReasonPolicyMet = "PolicyMet"
	// ReasonPolicyNotMet: the version misses its product's policy.
	ReasonPolicyNotMet = "PolicyNotMet"
	// ReasonNoPolicy: the product sets no promotion policy.
	ReasonNoPolicy = "NoPolicy"
	// ReasonEvaluationPending: the product evaluates versions
	// independently, and this one's evaluation has not reported yet.
	ReasonEvaluationPending = "EvaluationPending"
	// ReasonEvaluationRunning: the version's independent evaluation runs;
	// it is Reconciling until the evaluation reports.
	ReasonEvaluationRunning = "EvaluationRunning"
	// ReasonEvaluationFailed: the version's independent evaluation failed
	// or timed out; it is not Eligible.
	ReasonEvaluationFailed = "EvaluationFailed"
	// ReasonRejected: the version is Stalled because it was rejected (a
	// failed analysis or experiment); only a new version moves the product
	// on.
	ReasonRejected = "Rejected"
)

// Reasons of the RetrainingRun's conditions and of its status.reason.
const (
	// ReasonRunPending: the run's workload is not created yet.
	ReasonRunPending = "Pending"
	// ReasonRunRunning: the run's workload runs.
	ReasonRunRunning = "Running"
	// ReasonRegistered: the run registered its ModelVersion.
	ReasonRegistered = "Registered"
	// ReasonWorkloadFailed: the workload failed.
	ReasonWorkloadFailed = "WorkloadFailed"
	// ReasonWorkloadDeleted: the workload was deleted before it finished.
	ReasonWorkloadDeleted = "WorkloadDeleted"
	// ReasonRegistrySynced: the last sync with the model registry completed.
	ReasonRegistrySynced = "Synced"
	// ReasonRegistryUnreachable: the registry could not be reached, or
	// answered with an error; the sync is tried again at the next interval.
	ReasonRegistryUnreachable = "RegistryUnreachable"
	// ReasonBackendUnavailable: the run's engine cannot take it yet: its
	// CRD, or the runtime a TrainJob names, is not in the cluster.
	ReasonBackendUnavailable = "BackendUnavailable"
	// ReasonWorkloadRefused: the API server refused to create the
	// workload.
	ReasonWorkloadRefused = "WorkloadRefused"
	// ReasonResultUnusable: the workload succeeded but its result does not
	// follow the result contract.
	ReasonResultUnusable = "ResultUnusable"
	// ReasonVersionTaken: a ModelVersion of the target name exists and was
	// not produced by this run.
	ReasonVersionTaken = "VersionTaken"
)

// Reasons of the Experiment's conditions.
const (
	// ReasonExperimentWaiting: the experiment cannot start yet (see its
	// message).
	ReasonExperimentWaiting = "ExperimentWaiting"
	// ReasonExperimentRunning: the experiment runs until its duration ends.
	ReasonExperimentRunning = "ExperimentRunning"
	// ReasonExperimentFinished: the experiment has its verdict.
	ReasonExperimentFinished = "ExperimentFinished"
)

// ConditionRule says of one condition type who writes it and which status
// is the healthy one.
type ConditionRule struct {
	// Type is the condition type.
	Type string
	// Kinds are the kinds whose status carries it; only each kind's own
	// controller writes it.
	Kinds []string
	// Healthy is the status that means all is well. An Event is Normal
	// when a condition moves to it and Warning when it leaves it.
	Healthy metav1.ConditionStatus
}

// Kind names, as they appear in ConditionRules.
const (
	KindAIProduct     = "AIProduct"
	KindModelVersion  = "ModelVersion"
	KindRetrainingRun = "RetrainingRun"
	KindExperiment    = "Experiment"
)

var allKinds = []string{KindAIProduct, KindModelVersion, KindRetrainingRun, KindExperiment}

// ConditionRules is every condition the operator writes.
var ConditionRules = []ConditionRule{
	{Type: ConditionReady, Kinds: allKinds, Healthy: metav1.ConditionTrue},
	{Type: ConditionReconciling, Kinds: allKinds, Healthy: metav1.ConditionFalse},
	{Type: ConditionStalled, Kinds: allKinds, Healthy: metav1.ConditionFalse},
	{Type: ConditionStrategyGate, Kinds: []string{KindAIProduct}, Healthy: metav1.ConditionTrue},
	{Type: ConditionDiscoveryGate, Kinds: []string{KindAIProduct}, Healthy: metav1.ConditionTrue},
	{Type: ConditionObjectivesMet, Kinds: []string{KindAIProduct}, Healthy: metav1.ConditionTrue},
	{Type: ConditionExperimentsReady, Kinds: []string{KindAIProduct}, Healthy: metav1.ConditionTrue},
	{Type: ConditionServing, Kinds: []string{KindAIProduct}, Healthy: metav1.ConditionTrue},
	{Type: ConditionTrafficSplit, Kinds: []string{KindAIProduct}, Healthy: metav1.ConditionTrue},
	{Type: ConditionDrifted, Kinds: []string{KindAIProduct}, Healthy: metav1.ConditionFalse},
	{Type: ConditionRetrainingAllowed, Kinds: []string{KindAIProduct}, Healthy: metav1.ConditionTrue},
	{Type: ConditionRegistrySynced, Kinds: []string{KindAIProduct}, Healthy: metav1.ConditionTrue},
	{Type: ConditionEligible, Kinds: []string{KindModelVersion}, Healthy: metav1.ConditionTrue},
	{Type: ConditionSucceeded, Kinds: []string{KindRetrainingRun}, Healthy: metav1.ConditionTrue},
}

// HealthyStatus is the healthy status of a condition type, "" for a type
// not in ConditionRules.
func HealthyStatus(conditionType string) metav1.ConditionStatus {
	for _, r := range ConditionRules {
		if r.Type == conditionType {
			return r.Healthy
		}
	}
	return ""
}
