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

package gates

import (
	"reflect"
	"testing"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
)

func readySpec() *lifecyclev1alpha1.AIProductSpec {
	a := &lifecyclev1alpha1.Assessment{Rating: lifecyclev1alpha1.RatingMedium}
	return &lifecyclev1alpha1.AIProductSpec{
		Owners: lifecyclev1alpha1.Owners{ProductManager: "pm", DataScientist: "ds", TechLead: "tl"},
		Strategy: &lifecyclev1alpha1.StrategySpec{
			Objectives: []lifecyclev1alpha1.Objective{{Name: "kpi", Query: "up", Target: "1", Direction: lifecyclev1alpha1.AtLeast}},
			Assessment: lifecyclev1alpha1.ProductAssessment{Value: a, Usability: a, Feasibility: a, Viability: a},
		},
		Discovery: &lifecyclev1alpha1.DiscoverySpec{
			Risks:       []lifecyclev1alpha1.Risk{{Name: "r", Severity: lifecyclev1alpha1.SeverityHigh, Status: lifecyclev1alpha1.RiskMitigated, Mitigation: "m"}},
			Experiments: []lifecyclev1alpha1.DiscoveryExperiment{{Name: "e1"}, {Name: "e2"}},
		},
	}
}

func reasons(r Result) []string {
	var out []string
	for _, b := range r.Blockers {
		out = append(out, b.Reason+": "+b.Message)
	}
	return out
}

func TestEvaluateStrategy(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*lifecyclev1alpha1.AIProductSpec)
		want   []string
	}{
		{"all requirements hold", func(*lifecyclev1alpha1.AIProductSpec) {}, nil},
		{"designer is optional", func(s *lifecyclev1alpha1.AIProductSpec) { s.Owners.Designer = "" }, nil},
		{"a Low rating does not block", func(s *lifecyclev1alpha1.AIProductSpec) {
			s.Strategy.Assessment.Viability = &lifecyclev1alpha1.Assessment{Rating: lifecyclev1alpha1.RatingLow}
		}, nil},
		{"owners missing are named", func(s *lifecyclev1alpha1.AIProductSpec) { s.Owners = lifecyclev1alpha1.Owners{DataScientist: "ds"} },
			[]string{"OwnersMissing: spec.owners must name productManager and techLead"}},
		{"no strategy at all", func(s *lifecyclev1alpha1.AIProductSpec) { s.Strategy = nil }, []string{
			"ObjectivesMissing: spec.strategy.objectives must hold at least one business objective",
			"AssessmentIncomplete: spec.strategy.assessment lacks value, usability, feasibility and viability"}},
		{"one assessment missing", func(s *lifecyclev1alpha1.AIProductSpec) { s.Strategy.Assessment.Usability = nil },
			[]string{"AssessmentIncomplete: spec.strategy.assessment lacks usability"}},
		{"objectives empty", func(s *lifecyclev1alpha1.AIProductSpec) { s.Strategy.Objectives = nil },
			[]string{"ObjectivesMissing: spec.strategy.objectives must hold at least one business objective"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := readySpec()
			tt.mutate(s)
			r := EvaluateStrategy(s)
			if got := reasons(r); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("blockers = %q, want %q", got, tt.want)
			}
			if r.Passed() != (len(tt.want) == 0) {
				t.Fatalf("Passed() = %v with blockers %q", r.Passed(), tt.want)
			}
		})
	}
}

func TestEvaluateDiscovery(t *testing.T) {
	succeeded := []lifecyclev1alpha1.Experiment{{Spec: lifecyclev1alpha1.ExperimentSpec{DiscoveryExperiment: lifecyclev1alpha1.DiscoveryExperiment{Name: "e1"}}, Status: lifecyclev1alpha1.ExperimentStatus{Phase: lifecyclev1alpha1.ExperimentFinished, Verdict: lifecyclev1alpha1.VerdictSucceeded}}}
	tests := []struct {
		name   string
		mutate func(*lifecyclev1alpha1.AIProductSpec)
		exps   []lifecyclev1alpha1.Experiment
		want   []string
	}{
		{"mitigated risk and a success", func(*lifecyclev1alpha1.AIProductSpec) {}, succeeded, nil},
		{"a running experiment beside a success does not block", func(*lifecyclev1alpha1.AIProductSpec) {},
			[]lifecyclev1alpha1.Experiment{{Spec: lifecyclev1alpha1.ExperimentSpec{DiscoveryExperiment: lifecyclev1alpha1.DiscoveryExperiment{Name: "e1"}}, Status: lifecyclev1alpha1.ExperimentStatus{Phase: lifecyclev1alpha1.ExperimentFinished, Verdict: lifecyclev1alpha1.VerdictSucceeded}}, {Spec: lifecyclev1alpha1.ExperimentSpec{DiscoveryExperiment: lifecyclev1alpha1.DiscoveryExperiment{Name: "e2"}}, Status: lifecyclev1alpha1.ExperimentStatus{Phase: lifecyclev1alpha1.ExperimentRunning}}}, nil},
		{"open high risk", func(s *lifecyclev1alpha1.AIProductSpec) { s.Discovery.Risks[0].Status = lifecyclev1alpha1.RiskOpen }, succeeded,
			[]string{`RiskUnmitigated: risk "r" is High and Open; it must be Mitigated`}},
		{"accepted critical risk still blocks", func(s *lifecyclev1alpha1.AIProductSpec) {
			s.Discovery.Risks[0].Severity, s.Discovery.Risks[0].Status = lifecyclev1alpha1.SeverityCritical, lifecyclev1alpha1.RiskAccepted
		}, succeeded, []string{`RiskUnmitigated: risk "r" is Critical and Accepted; it must be Mitigated`}},
		{"unset status reads Open", func(s *lifecyclev1alpha1.AIProductSpec) { s.Discovery.Risks[0].Status = "" }, succeeded,
			[]string{`RiskUnmitigated: risk "r" is High and Open; it must be Mitigated`}},
		{"open medium risk does not block", func(s *lifecyclev1alpha1.AIProductSpec) {
			s.Discovery.Risks[0].Severity, s.Discovery.Risks[0].Status = lifecyclev1alpha1.SeverityMedium, lifecyclev1alpha1.RiskOpen
		}, succeeded, nil},
		{"no experiments declared", func(s *lifecyclev1alpha1.AIProductSpec) { s.Discovery.Experiments = nil }, nil,
			[]string{"NoExperiment: spec.discovery.experiments must hold at least one experiment"}},
		{"no discovery at all", func(s *lifecyclev1alpha1.AIProductSpec) { s.Discovery = nil }, nil,
			[]string{"NoExperiment: spec.discovery.experiments must hold at least one experiment"}},
		{"none succeeded yet", func(*lifecyclev1alpha1.AIProductSpec) {}, []lifecyclev1alpha1.Experiment{{Spec: lifecyclev1alpha1.ExperimentSpec{DiscoveryExperiment: lifecyclev1alpha1.DiscoveryExperiment{Name: "e1"}}, Status: lifecyclev1alpha1.ExperimentStatus{Phase: lifecyclev1alpha1.ExperimentRunning}}},
			[]string{"NoExperimentSucceeded: no experiment has succeeded yet"}},
		{"a failure blocks even beside a success", func(*lifecyclev1alpha1.AIProductSpec) {},
			[]lifecyclev1alpha1.Experiment{{Spec: lifecyclev1alpha1.ExperimentSpec{DiscoveryExperiment: lifecyclev1alpha1.DiscoveryExperiment{Name: "e1"}}, Status: lifecyclev1alpha1.ExperimentStatus{Phase: lifecyclev1alpha1.ExperimentFinished, Verdict: lifecyclev1alpha1.VerdictSucceeded}}, {Spec: lifecyclev1alpha1.ExperimentSpec{DiscoveryExperiment: lifecyclev1alpha1.DiscoveryExperiment{Name: "e2"}}, Status: lifecyclev1alpha1.ExperimentStatus{Phase: lifecyclev1alpha1.ExperimentFinished, Verdict: lifecyclev1alpha1.VerdictFailed, Message: "ctr 0.01 below 0.02"}}},
			[]string{`ExperimentFailed: experiment "e2" failed: ctr 0.01 below 0.02`}},
		{"status of an experiment no longer declared is ignored", func(*lifecyclev1alpha1.AIProductSpec) {},
			[]lifecyclev1alpha1.Experiment{{Spec: lifecyclev1alpha1.ExperimentSpec{DiscoveryExperiment: lifecyclev1alpha1.DiscoveryExperiment{Name: "gone"}}, Status: lifecyclev1alpha1.ExperimentStatus{Phase: lifecyclev1alpha1.ExperimentFinished, Verdict: lifecyclev1alpha1.VerdictSucceeded}}},
			[]string{"NoExperimentSucceeded: no experiment has succeeded yet"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := readySpec()
			tt.mutate(s)
			if got := reasons(EvaluateDiscovery(s, tt.exps, nil)); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("blockers = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNextPhase(t *testing.T) {
	pass := Result{Name: "g"}
	block := Result{Name: "g", Blockers: []Blocker{{Reason: "X", Message: "x"}}}
	tests := []struct {
		name             string
		current, desired lifecyclev1alpha1.ProductPhase
		strategyPasses   bool
		discoveryPasses  bool
		wantTo           lifecyclev1alpha1.ProductPhase
		wantReason       string
		wantBlocked      bool
	}{
		{"new product starts in Strategy", "", lifecyclev1alpha1.PhaseDelivery, true, true, lifecyclev1alpha1.PhaseStrategy, ReasonInitialized, false},
		{"new product asked Retired", "", lifecyclev1alpha1.PhaseRetired, true, true, lifecyclev1alpha1.PhaseRetired, ReasonRequested, false},
		{"empty desired means Strategy", "", "", true, true, lifecyclev1alpha1.PhaseStrategy, ReasonInitialized, false},
		{"at desired phase", lifecyclev1alpha1.PhaseDiscovery, lifecyclev1alpha1.PhaseDiscovery, false, false, "", "", false},
		{"forward through a passing gate", lifecyclev1alpha1.PhaseStrategy, lifecyclev1alpha1.PhaseDelivery, true, false, lifecyclev1alpha1.PhaseDiscovery, ReasonGatesPassed, false},
		{"forward blocked by Strategy gate", lifecyclev1alpha1.PhaseStrategy, lifecyclev1alpha1.PhaseDiscovery, false, true, "", "", true},
		{"Discovery to Delivery", lifecyclev1alpha1.PhaseDiscovery, lifecyclev1alpha1.PhaseDelivery, false, true, lifecyclev1alpha1.PhaseDelivery, ReasonGatesPassed, false},
		{"Discovery blocked", lifecyclev1alpha1.PhaseDiscovery, lifecyclev1alpha1.PhaseDelivery, true, false, "", "", true},
		{"back from Delivery to Discovery needs no gate", lifecyclev1alpha1.PhaseDelivery, lifecyclev1alpha1.PhaseDiscovery, false, false, lifecyclev1alpha1.PhaseDiscovery, ReasonRequested, false},
		{"back from Delivery to Strategy in one move", lifecyclev1alpha1.PhaseDelivery, lifecyclev1alpha1.PhaseStrategy, false, false, lifecyclev1alpha1.PhaseStrategy, ReasonRequested, false},
		{"retire from any phase", lifecyclev1alpha1.PhaseDiscovery, lifecyclev1alpha1.PhaseRetired, false, false, lifecyclev1alpha1.PhaseRetired, ReasonRequested, false},
		{"out of Retired restarts at Strategy", lifecyclev1alpha1.PhaseRetired, lifecyclev1alpha1.PhaseDelivery, true, true, lifecyclev1alpha1.PhaseStrategy, ReasonReactivated, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NextPhase(tt.current, tt.desired, func(p lifecyclev1alpha1.ProductPhase) Result {
				ok := map[lifecyclev1alpha1.ProductPhase]bool{lifecyclev1alpha1.PhaseStrategy: tt.strategyPasses, lifecyclev1alpha1.PhaseDiscovery: tt.discoveryPasses}[p]
				if ok {
					return pass
				}
				return block
			})
			if m.To != tt.wantTo || m.Reason != tt.wantReason || (m.Blocked != nil) != tt.wantBlocked {
				t.Fatalf("NextPhase(%q, %q) = %+v, want to=%q reason=%q blocked=%v", tt.current, tt.desired, m, tt.wantTo, tt.wantReason, tt.wantBlocked)
			}
		})
	}
}

func TestRequiredObjectivesMustBeMeasured(t *testing.T) {
	succeeded := []lifecyclev1alpha1.Experiment{{Spec: lifecyclev1alpha1.ExperimentSpec{DiscoveryExperiment: lifecyclev1alpha1.DiscoveryExperiment{Name: "e1"}},
		Status: lifecyclev1alpha1.ExperimentStatus{Phase: lifecyclev1alpha1.ExperimentFinished, Verdict: lifecyclev1alpha1.VerdictSucceeded}}}
	result := func(name string, r lifecyclev1alpha1.CheckResult, msg string) lifecyclev1alpha1.ObjectiveStatus {
		return lifecyclev1alpha1.ObjectiveStatus{Name: name, Result: r, Message: msg}
	}
	tests := []struct {
		name     string
		required bool
		results  []lifecyclev1alpha1.ObjectiveStatus
		want     []string
	}{
		{"not required: Unknown does not block", false, []lifecyclev1alpha1.ObjectiveStatus{result("ctr", lifecyclev1alpha1.ResultUnknown, "no data")}, nil},
		{"required and Met", true, []lifecyclev1alpha1.ObjectiveStatus{result("ctr", lifecyclev1alpha1.ResultMet, "")}, nil},
		{"required and Missed is measured: it does not block the gate", true, []lifecyclev1alpha1.ObjectiveStatus{result("ctr", lifecyclev1alpha1.ResultMissed, "")}, nil},
		{"required and Unknown", true, []lifecyclev1alpha1.ObjectiveStatus{result("ctr", lifecyclev1alpha1.ResultUnknown, "query returned no data")},
			[]string{`ObjectiveUnmeasured: required objective "ctr" is Unknown: query returned no data`}},
		{"required and never evaluated", true, nil, []string{`ObjectiveUnmeasured: required objective "ctr" is not measured yet`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := readySpec()
			s.Strategy.Objectives = []lifecyclev1alpha1.Objective{{Name: "ctr", Query: "ctr", Target: "0.1", Direction: lifecyclev1alpha1.AtLeast, Required: tt.required}}
			if got := reasons(EvaluateDiscovery(s, succeeded, tt.results)); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("blockers = %q, want %q", got, tt.want)
			}
		})
	}
}
