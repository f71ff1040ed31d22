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
package stage

import (
	"testing"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
)

func TestDerive(t *testing.T) {
	const (
		cand       = lifecyclev1alpha1.StageCandidate
		staging    = lifecyclev1alpha1.StageStaging
		production = lifecyclev1alpha1.StageProduction
		archived   = lifecyclev1alpha1.StageArchived
		rejected   = lifecyclev1alpha1.StageRejected
	)
	rollout := func(phase lifecyclev1alpha1.RolloutPhase, reason string) *lifecyclev1alpha1.RolloutStatus {
		return &lifecyclev1alpha1.RolloutStatus{StableVersion: "v1", CanaryVersion: "v2", Phase: phase, Reason: reason,
			Message: "v2 rolled back: analysis metric err was 0.2"}
	}
	exp := func(phase lifecyclev1alpha1.ExperimentPhase, verdict lifecyclev1alpha1.ExperimentVerdict) []lifecyclev1alpha1.Experiment {
		e := lifecyclev1alpha1.Experiment{}
		e.Spec.Name = "shadow"
		e.Status.Phase, e.Status.Verdict, e.Status.Message = phase, verdict, "ctr 0.01 below 0.02"
		return []lifecyclev1alpha1.Experiment{e}
	}
	tests := []struct {
		name    string
		version string
		had     Stage
		rec     Record
		want    Stage
	}{
		{"a new version is a Candidate", "v2", Stage{}, Record{Production: "v1"}, Stage{cand, ReasonRegistered}},
		{"the first version served", "v1", Stage{cand, ReasonRegistered}, Record{Production: "v1"}, Stage{production, ReasonServing}},
		{"production keeps its reason", "v1", Stage{production, ReasonPromoted}, Record{Production: "v1"}, Stage{production, ReasonPromoted}},
		{"the canary is Staging", "v2", Stage{cand, ReasonRegistered},
			Record{Production: "v1", Rollout: rollout(lifecyclev1alpha1.RolloutProgressing, "")}, Stage{staging, ReasonCanary}},
		{"a paused canary is Staging", "v2", Stage{cand, ReasonRegistered},
			Record{Production: "v1", Rollout: rollout(lifecyclev1alpha1.RolloutPaused, "")}, Stage{staging, ReasonCanary}},
		{"an inconclusive canary is Staging", "v2", Stage{staging, ReasonCanary},
			Record{Production: "v1", Rollout: rollout(lifecyclev1alpha1.RolloutInconclusive, "")}, Stage{staging, ReasonCanary}},
		{"a canary being promoted stays Staging until traffic moves to it", "v2", Stage{staging, ReasonCanary},
			Record{Production: "v1", Rollout: rollout(lifecyclev1alpha1.RolloutPromoting, "Promoted")}, Stage{staging, ReasonPromoting}},
		{"the stable stays Production while the canary is promoted", "v1", Stage{production, ReasonServing},
			Record{Production: "v1", Rollout: rollout(lifecyclev1alpha1.RolloutPromoting, "Promoted")}, Stage{production, ReasonServing}},
		{"a canary rolling back is Staging while it serves", "v2", Stage{staging, ReasonCanary},
			Record{Production: "v1", Rollout: rollout(lifecyclev1alpha1.RolloutAborting, "AnalysisFailed")}, Stage{staging, ReasonRollingBack}},
		{"a promoted canary is Production", "v2", Stage{staging, ReasonCanary},
			Record{Production: "v2", Rollout: rollout(lifecyclev1alpha1.RolloutSucceeded, "Promoted")}, Stage{production, ReasonPromoted}},
		{"promoted by request says so", "v2", Stage{staging, ReasonCanary},
			Record{Production: "v2", Rollout: rollout(lifecyclev1alpha1.RolloutSucceeded, "PromotedByRequest")}, Stage{production, ReasonPromotedRequest}},
		{"the replaced version is Archived", "v1", Stage{production, ReasonServing},
			Record{Production: "v2", Rollout: rollout(lifecyclev1alpha1.RolloutSucceeded, "Promoted")}, Stage{archived, "replaced by v2"}},
		{"Archived stays", "v1", Stage{archived, "replaced by v2"}, Record{Production: "v3"}, Stage{archived, "replaced by v2"}},
		{"a rolled-back canary is Rejected with the rollout's word", "v2", Stage{staging, ReasonCanary},
			Record{Production: "v1", Rollout: rollout(lifecyclev1alpha1.RolloutAborted, "AnalysisFailed")},
			Stage{rejected, "v2 rolled back: analysis metric err was 0.2"}},
		{"Rejected stays after the product moves on", "v2", Stage{rejected, "v2 rolled back"},
			Record{Production: "v1"}, Stage{rejected, "v2 rolled back"}},
		{"a retried canary is Staging again", "v2", Stage{rejected, "v2 rolled back"},
			Record{Production: "v1", Rollout: rollout(lifecyclev1alpha1.RolloutProgressing, "")}, Stage{staging, ReasonCanary}},
		{"an abandoned canary goes back to Candidate", "v2", Stage{staging, ReasonCanary},
			Record{Production: "v1", Rollout: rollout(lifecyclev1alpha1.RolloutAborted, "Abandoned")}, Stage{cand, ReasonAbandoned}},
		{"a version in a running experiment is Staging", "v2", Stage{cand, ReasonRegistered},
			Record{Experiments: exp(lifecyclev1alpha1.ExperimentRunning, "")}, Stage{staging, "in experiment shadow"}},
		{"a waiting experiment stages nothing", "v2", Stage{cand, ReasonRegistered},
			Record{Experiments: exp(lifecyclev1alpha1.ExperimentWaiting, "")}, Stage{cand, ReasonRegistered}},
		{"a failed experiment rejects", "v2", Stage{staging, "in experiment shadow"},
			Record{Experiments: exp(lifecyclev1alpha1.ExperimentFinished, lifecyclev1alpha1.VerdictFailed)},
			Stage{rejected, "experiment shadow failed: ctr 0.01 below 0.02"}},
		{"a succeeded experiment returns to Candidate", "v2", Stage{staging, "in experiment shadow"},
			Record{Experiments: exp(lifecyclev1alpha1.ExperimentFinished, lifecyclev1alpha1.VerdictSucceeded)},
			Stage{cand, "experiment shadow Succeeded"}},
		{"an old failed experiment does not reject what has served since", "v2", Stage{archived, "replaced by v3"},
			Record{Production: "v3", Experiments: exp(lifecyclev1alpha1.ExperimentFinished, lifecyclev1alpha1.VerdictFailed)},
			Stage{archived, "replaced by v3"}},
		{"production outranks an experiment", "v2", Stage{staging, "in experiment shadow"},
			Record{Production: "v2", Experiments: exp(lifecyclev1alpha1.ExperimentRunning, "")}, Stage{production, ReasonServing}},
		{"production gone: Archived", "v1", Stage{production, ReasonServing}, Record{}, Stage{archived, "no longer serves production"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Derive(tt.version, tt.had, tt.rec); got != tt.want {
				t.Errorf("Derive = %+v, want %+v", got, tt.want)
			}
		})
	}
}
