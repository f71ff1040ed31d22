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
// Package stage derives a ModelVersion's stage from what its product
// recorded: the product decides which version serves production, which is
// the canary and how its rollout ended, and the product's Experiments which
// versions are under trial; the version's own controller, the only writer
// of its status, turns that record into a stage. It knows nothing of the
// API server.
package stage

import (
	"fmt"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/rollout"
)

// Record is what a version's stage depends on.
type Record struct {
	// Production is the product's status.productionVersion.
	Production string
	// Rollout is the product's status.rollout, nil when none ran.
	Rollout *lifecyclev1alpha1.RolloutStatus
	// Experiments are the product's Experiments whose candidate is the
	// version.
	Experiments []lifecyclev1alpha1.Experiment
}

// Stage is a version's stage and why.
type Stage struct {
	Stage  lifecyclev1alpha1.Stage
	Reason string
}

// Reasons a stage is given.
const (
	ReasonRegistered      = "Registered"
	ReasonServing         = "serving production"
	ReasonPromoted        = "promoted by canary"
	ReasonPromotedRequest = "promoted by request"
	ReasonCanary          = "rolling out by canary"
	ReasonPromoting       = "promoted, scaling to full size before it takes all traffic"
	ReasonRollingBack     = "rolling back: serves until traffic is back on the stable"
	ReasonAbandoned       = "rollout abandoned for a newer choice"
	ReasonUnstaged        = "no longer under trial"
)

// Derive returns the stage of version given its product's record and the
// stage it had. The version's own last stage is its history: once
// Production, a version replaced is Archived; once Rejected, it stays so
// until its product tries it again.
func Derive(version string, had Stage, rec Record) Stage {
	ro := rec.Rollout
	canary := ro != nil && ro.CanaryVersion == version
	if rec.Production == version {
		switch {
		case had.Stage == lifecyclev1alpha1.StageProduction:
			// Restating why would cost a write per product for nothing.
			return had
		case canary && ro.Phase == lifecyclev1alpha1.RolloutSucceeded && ro.Reason == rollout.ReasonPromotedByRequest:
			return Stage{lifecyclev1alpha1.StageProduction, ReasonPromotedRequest}
		case canary && ro.Phase == lifecyclev1alpha1.RolloutSucceeded:
			return Stage{lifecyclev1alpha1.StageProduction, ReasonPromoted}
		}
		return Stage{lifecyclev1alpha1.StageProduction, ReasonServing}
	}
	if canary {
		switch ro.Phase {
		case lifecyclev1alpha1.RolloutProgressing, lifecyclev1alpha1.RolloutPaused, lifecyclev1alpha1.RolloutInconclusive:
			return Stage{lifecyclev1alpha1.StageStaging, ReasonCanary}
		case lifecyclev1alpha1.RolloutPromoting:
			// Production once traffic has moved to it, not before.
			return Stage{lifecyclev1alpha1.StageStaging, ReasonPromoting}
		case lifecyclev1alpha1.RolloutAborting:
			// It serves until traffic is back on the stable.
			return Stage{lifecyclev1alpha1.StageStaging, ReasonRollingBack}
		case lifecyclev1alpha1.RolloutAborted:
			if ro.Reason != rollout.ReasonAbandoned {
				return Stage{lifecyclev1alpha1.StageRejected, ro.Message}
			}
		}
	}
	for _, e := range rec.Experiments {
		if e.Status.Phase == lifecyclev1alpha1.ExperimentRunning {
			return Stage{lifecyclev1alpha1.StageStaging, "in experiment " + e.Spec.Name}
		}
	}
	for _, e := range rec.Experiments {
		// A version that has served production since keeps its later stage.
		served := had.Stage == lifecyclev1alpha1.StageArchived || had.Stage == lifecyclev1alpha1.StageProduction
		if e.Status.Phase == lifecyclev1alpha1.ExperimentFinished && e.Status.Verdict == lifecyclev1alpha1.VerdictFailed && !served {
			return Stage{lifecyclev1alpha1.StageRejected, fmt.Sprintf("experiment %s failed: %s", e.Spec.Name, e.Status.Message)}
		}
	}
	switch had.Stage {
	case lifecyclev1alpha1.StageProduction:
		if rec.Production == "" {
			return Stage{lifecyclev1alpha1.StageArchived, "no longer serves production"}
		}
		return Stage{lifecyclev1alpha1.StageArchived, "replaced by " + rec.Production}
	case lifecyclev1alpha1.StageArchived, lifecyclev1alpha1.StageRejected:
		return had
	case lifecyclev1alpha1.StageStaging:
		if canary {
			return Stage{lifecyclev1alpha1.StageCandidate, ReasonAbandoned}
		}
		for _, e := range rec.Experiments {
			if e.Status.Phase == lifecyclev1alpha1.ExperimentFinished {
				return Stage{lifecyclev1alpha1.StageCandidate, fmt.Sprintf("experiment %s %s", e.Spec.Name, e.Status.Verdict)}
			}
		}
		return Stage{lifecyclev1alpha1.StageCandidate, ReasonUnstaged}
	case "":
		return Stage{lifecyclev1alpha1.StageCandidate, ReasonRegistered}
	}
	return had
}
