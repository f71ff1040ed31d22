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

	v1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
)

func readySpec() *v1.AIProductSpec {
	a := &v1.Assessment{Rating: v1.RatingMedium}
	return &v1.AIProductSpec{
		Owners: v1.Owners{ProductManager: "pm", DataScientist: "ds", TechLead: "tl"},
		Strategy: &v1.StrategySpec{
			Objectives: []v1.Objective{{Name: "kpi", Query: "up", Target: "1", Direction: v1.AtLeast}},
			Assessment: v1.ProductAssessment{Value: a, Usability: a, Feasibility: a, Viability: a},
		},
		Discovery: &v1.DiscoverySpec{
			Risks:       []v1.Risk{{Name: "r", Severity: v1.SeverityHigh, Status: v1.RiskMitigated, Mitigation: "m"}},
			Experiments: []v1.Experiment{{Name: "e1"}, {Name: "e2"}},
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
		mutate func(*v1.AIProductSpec)
		want   []string
	}{
		{"all requirements hold", func(*v1.AIProductSpec) {}, nil},
		{"designer is optional", func(s *v1.AIProductSpec) { s.Owners.Designer = "" }, nil},
		{"a Low rating does not block", func(s *v1.AIProductSpec) {
			s.Strategy.Assessment.Viability = &v1.Assessment{Rating: v1.RatingLow}
		}, nil},
		{"owners missing are named", func(s *v1.AIProductSpec) { s.Owners = v1.Owners{DataScientist: "ds"} },
			[]string{"OwnersMissing: spec.owners must name productManager and techLead"}},
		{"no strategy at all", func(s *v1.AIProductSpec) { s.Strategy = nil }, []string{
			"ObjectivesMissing: spec.strategy.objectives must hold at least one business objective",
			"AssessmentIncomplete: spec.strategy.assessment lacks value, usability, feasibility and viability"}},
		{"one assessment missing", func(s *v1.AIProductSpec) { s.Strategy.Assessment.Usability = nil },
			[]string{"AssessmentIncomplete: spec.strategy.assessment lacks usability"}},
		{"objectives empty", func(s *v1.AIProductSpec) { s.Strategy.Objectives = nil },
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
	succeeded := []v1.ExperimentStatus{{Name: "e1", Phase: v1.ExperimentSucceeded}}
	tests := []struct {
		name   string
		mutate func(*v1.AIProductSpec)
		exps   []v1.ExperimentStatus
		want   []string
	}{
		{"mitigated risk and a success", func(*v1.AIProductSpec) {}, succeeded, nil},
		{"a running experiment beside a success does not block", func(*v1.AIProductSpec) {},
			[]v1.ExperimentStatus{{Name: "e1", Phase: v1.ExperimentSucceeded}, {Name: "e2", Phase: v1.ExperimentRunning}}, nil},
		{"open high risk", func(s *v1.AIProductSpec) { s.Discovery.Risks[0].Status = v1.RiskOpen }, succeeded,
			[]string{`RiskUnmitigated: risk "r" is High and Open; it must be Mitigated`}},
		{"accepted critical risk still blocks", func(s *v1.AIProductSpec) {
			s.Discovery.Risks[0].Severity, s.Discovery.Risks[0].Status = v1.SeverityCritical, v1.RiskAccepted
		}, succeeded, []string{`RiskUnmitigated: risk "r" is Critical and Accepted; it must be Mitigated`}},
		{"unset status reads Open", func(s *v1.AIProductSpec) { s.Discovery.Risks[0].Status = "" }, succeeded,
			[]string{`RiskUnmitigated: risk "r" is High and Open; it must be Mitigated`}},
		{"open medium risk does not block", func(s *v1.AIProductSpec) {
			s.Discovery.Risks[0].Severity, s.Discovery.Risks[0].Status = v1.SeverityMedium, v1.RiskOpen
		}, succeeded, nil},
		{"no experiments declared", func(s *v1.AIProductSpec) { s.Discovery.Experiments = nil }, nil,
			[]string{"NoExperiment: spec.discovery.experiments must hold at least one experiment"}},
		{"no discovery at all", func(s *v1.AIProductSpec) { s.Discovery = nil }, nil,
			[]string{"NoExperiment: spec.discovery.experiments must hold at least one experiment"}},
		{"none succeeded yet", func(*v1.AIProductSpec) {}, []v1.ExperimentStatus{{Name: "e1", Phase: v1.ExperimentRunning}},
			[]string{"NoExperimentSucceeded: no experiment has succeeded yet"}},
		{"a failure blocks even beside a success", func(*v1.AIProductSpec) {},
			[]v1.ExperimentStatus{{Name: "e1", Phase: v1.ExperimentSucceeded}, {Name: "e2", Phase: v1.ExperimentFailed, Message: "ctr 0.01 below 0.02"}},
			[]string{`ExperimentFailed: experiment "e2" failed: ctr 0.01 below 0.02`}},
		{"status of an experiment no longer declared is ignored", func(*v1.AIProductSpec) {},
			[]v1.ExperimentStatus{{Name: "gone", Phase: v1.ExperimentSucceeded}},
			[]string{"NoExperimentSucceeded: no experiment has succeeded yet"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := readySpec()
			tt.mutate(s)
			if got := reasons(EvaluateDiscovery(s, tt.exps)); !reflect.DeepEqual(got, tt.want) {
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
		current, desired v1.ProductPhase
		strategyPasses   bool
		discoveryPasses  bool
		wantTo           v1.ProductPhase
		wantReason       string
		wantBlocked      bool
	}{
		{"new product starts in Strategy", "", v1.PhaseDelivery, true, true, v1.PhaseStrategy, ReasonInitialized, false},
		{"new product asked Retired", "", v1.PhaseRetired, true, true, v1.PhaseRetired, ReasonRequested, false},
		{"empty desired means Strategy", "", "", true, true, v1.PhaseStrategy, ReasonInitialized, false},
		{"at desired phase", v1.PhaseDiscovery, v1.PhaseDiscovery, false, false, "", "", false},
		{"forward through a passing gate", v1.PhaseStrategy, v1.PhaseDelivery, true, false, v1.PhaseDiscovery, ReasonGatesPassed, false},
		{"forward blocked by Strategy gate", v1.PhaseStrategy, v1.PhaseDiscovery, false, true, "", "", true},
		{"Discovery to Delivery", v1.PhaseDiscovery, v1.PhaseDelivery, false, true, v1.PhaseDelivery, ReasonGatesPassed, false},
		{"Discovery blocked", v1.PhaseDiscovery, v1.PhaseDelivery, true, false, "", "", true},
		{"back from Delivery to Discovery needs no gate", v1.PhaseDelivery, v1.PhaseDiscovery, false, false, v1.PhaseDiscovery, ReasonRequested, false},
		{"back from Delivery to Strategy in one move", v1.PhaseDelivery, v1.PhaseStrategy, false, false, v1.PhaseStrategy, ReasonRequested, false},
		{"retire from any phase", v1.PhaseDiscovery, v1.PhaseRetired, false, false, v1.PhaseRetired, ReasonRequested, false},
		{"out of Retired restarts at Strategy", v1.PhaseRetired, v1.PhaseDelivery, true, true, v1.PhaseStrategy, ReasonReactivated, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NextPhase(tt.current, tt.desired, func(p v1.ProductPhase) Result {
				ok := map[v1.ProductPhase]bool{v1.PhaseStrategy: tt.strategyPasses, v1.PhaseDiscovery: tt.discoveryPasses}[p]
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
