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

// Package gates decides whether a product may leave a phase, and which phase
// it moves to next. It knows nothing of the API server: it takes the spec and
// the experiment results and returns a decision a person can read.
package gates

import (
	"fmt"
	"slices"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
)

// Gate names, as they appear in status.gates and in the condition types
// StrategyGate and DiscoveryGate.
const (
	Strategy  = "Strategy"
	Discovery = "Discovery"
)

// Blocker is one unmet requirement of a gate.
type Blocker struct {
	// Reason is a CamelCase condition reason.
	Reason string
	// Message says what is missing, in words.
	Message string
}

// Result is a gate's verdict.
type Result struct {
	Name     string
	Blockers []Blocker
}

// Passed reports whether the gate holds.
func (r Result) Passed() bool { return len(r.Blockers) == 0 }

// Reasons for a closed gate, declared with the API's other reasons.
const (
	ReasonOwnersMissing         = lifecyclev1alpha1.ReasonOwnersMissing
	ReasonObjectivesMissing     = lifecyclev1alpha1.ReasonObjectivesMissing
	ReasonAssessmentIncomplete  = lifecyclev1alpha1.ReasonAssessmentIncomplete
	ReasonRiskUnmitigated       = lifecyclev1alpha1.ReasonRiskUnmitigated
	ReasonNoExperiment          = lifecyclev1alpha1.ReasonNoExperiment
	ReasonExperimentFailed      = lifecyclev1alpha1.ReasonExperimentFailed
	ReasonNoExperimentSucceeded = lifecyclev1alpha1.ReasonNoExperimentSucceeded
	ReasonObjectiveUnmeasured   = lifecyclev1alpha1.ReasonObjectiveUnmeasured
)

// EvaluateStrategy checks the gate out of Strategy: the product manager,
// data scientist and tech lead are named (a designer is welcome but not every
// AI product has a user interface), at least one objective is set, and all
// four assessments are made.
func EvaluateStrategy(spec *lifecyclev1alpha1.AIProductSpec) Result {
	r := Result{Name: Strategy}
	var missing []string
	if spec.Owners.ProductManager == "" {
		missing = append(missing, "productManager")
	}
	if spec.Owners.DataScientist == "" {
		missing = append(missing, "dataScientist")
	}
	if spec.Owners.TechLead == "" {
		missing = append(missing, "techLead")
	}
	if len(missing) > 0 {
		r.Blockers = append(r.Blockers, Blocker{ReasonOwnersMissing,
			fmt.Sprintf("spec.owners must name %s", joinAnd(missing))})
	}
	st := spec.Strategy
	if st == nil || len(st.Objectives) == 0 {
		r.Blockers = append(r.Blockers, Blocker{ReasonObjectivesMissing,
			"spec.strategy.objectives must hold at least one business objective"})
	}
	var unassessed []string
	var a lifecyclev1alpha1.ProductAssessment
	if st != nil {
		a = st.Assessment
	}
	for _, x := range []struct {
		name string
		v    *lifecyclev1alpha1.Assessment
	}{{"value", a.Value}, {"usability", a.Usability}, {"feasibility", a.Feasibility}, {"viability", a.Viability}} {
		if x.v == nil || x.v.Rating == "" {
			unassessed = append(unassessed, x.name)
		}
	}
	if len(unassessed) > 0 {
		r.Blockers = append(r.Blockers, Blocker{ReasonAssessmentIncomplete,
			fmt.Sprintf("spec.strategy.assessment lacks %s", joinAnd(unassessed))})
	}
	return r
}

// EvaluateDiscovery checks the gate out of Discovery: every High or Critical
// risk is Mitigated, at least one experiment has Succeeded, and none has
// Failed. Verdicts come from the product's Experiment objects, matched to
// the spec by name.
func EvaluateDiscovery(spec *lifecyclev1alpha1.AIProductSpec, experiments []lifecyclev1alpha1.Experiment,
	objectives []lifecyclev1alpha1.ObjectiveStatus) Result {
	r := Result{Name: Discovery}
	d := spec.Discovery
	if d == nil {
		d = &lifecyclev1alpha1.DiscoverySpec{}
	}
	for _, risk := range d.Risks {
		if (risk.Severity == lifecyclev1alpha1.SeverityHigh || risk.Severity == lifecyclev1alpha1.SeverityCritical) &&
			risk.Status != lifecyclev1alpha1.RiskMitigated {
			status := risk.Status
			if status == "" {
				status = lifecyclev1alpha1.RiskOpen
			}
			r.Blockers = append(r.Blockers, Blocker{ReasonRiskUnmitigated,
				fmt.Sprintf("risk %q is %s and %s; it must be Mitigated", risk.Name, risk.Severity, status)})
		}
	}
	if len(d.Experiments) == 0 {
		r.Blockers = append(r.Blockers, Blocker{ReasonNoExperiment,
			"spec.discovery.experiments must hold at least one experiment"})
		return r
	}
	phases := make(map[string]lifecyclev1alpha1.ExperimentStatus, len(experiments))
	for _, e := range experiments {
		if e.Status.Phase == lifecyclev1alpha1.ExperimentFinished {
			phases[e.Spec.Name] = e.Status
		}
	}
	succeeded := 0
	for _, e := range d.Experiments {
		st, ok := phases[e.Name]
		if !ok {
			continue
		}
		switch st.Verdict {
		case lifecyclev1alpha1.VerdictSucceeded:
			succeeded++
		case lifecyclev1alpha1.VerdictFailed:
			msg := fmt.Sprintf("experiment %q failed", e.Name)
			if st.Message != "" {
				msg += ": " + st.Message
			}
			r.Blockers = append(r.Blockers, Blocker{ReasonExperimentFailed, msg})
		}
	}
	if succeeded == 0 {
		r.Blockers = append(r.Blockers, Blocker{ReasonNoExperimentSucceeded,
			"no experiment has succeeded yet"})
	}
	r.Blockers = append(r.Blockers, unmeasured(spec, objectives)...)
	return r
}

// unmeasured blocks on each required objective that has no value: a
// product that cannot measure what it answers for does not ship.
func unmeasured(spec *lifecyclev1alpha1.AIProductSpec, results []lifecyclev1alpha1.ObjectiveStatus) []Blocker {
	if spec.Strategy == nil {
		return nil
	}
	var out []Blocker
	for _, o := range spec.Strategy.Objectives {
		if !o.Required {
			continue
		}
		i := slices.IndexFunc(results, func(r lifecyclev1alpha1.ObjectiveStatus) bool { return r.Name == o.Name })
		switch {
		case i < 0:
			out = append(out, Blocker{ReasonObjectiveUnmeasured, fmt.Sprintf("required objective %q is not measured yet", o.Name)})
		case results[i].Result == lifecyclev1alpha1.ResultUnknown:
			msg := fmt.Sprintf("required objective %q is Unknown", o.Name)
			if results[i].Message != "" {
				msg += ": " + results[i].Message
			}
			out = append(out, Blocker{ReasonObjectiveUnmeasured, msg})
		}
	}
	return out
}

// Move is the next phase change, if any.
type Move struct {
	// To is the phase to enter; empty when the product stays.
	To lifecyclev1alpha1.ProductPhase
	// Reason is GatesPassed (forward), Requested (back, or into Retired),
	// Initialized (first phase) or Reactivated (out of Retired).
	Reason string
	// Blocked is the gate that stops a forward move, when one does.
	Blocked *Result
}

// Reasons for a phase change.
const (
	ReasonInitialized = "Initialized"
	ReasonGatesPassed = "GatesPassed"
	ReasonRequested   = "Requested"
	ReasonReactivated = "Reactivated"
)

// NextPhase decides one step from current toward desired. Forward moves go
// one phase at a time and need the gate of the phase being left; moves back
// and into Retired are always allowed. A retired product that is asked to
// come back restarts at Strategy and climbs through the gates again, since
// what held when it was retired may no longer hold.
func NextPhase(current, desired lifecyclev1alpha1.ProductPhase, gate func(lifecyclev1alpha1.ProductPhase) Result) Move {
	if desired == "" {
		desired = lifecyclev1alpha1.PhaseStrategy
	}
	switch {
	case current == "":
		if desired == lifecyclev1alpha1.PhaseRetired {
			return Move{To: lifecyclev1alpha1.PhaseRetired, Reason: ReasonRequested}
		}
		return Move{To: lifecyclev1alpha1.PhaseStrategy, Reason: ReasonInitialized}
	case current == desired:
		return Move{}
	case desired == lifecyclev1alpha1.PhaseRetired:
		return Move{To: lifecyclev1alpha1.PhaseRetired, Reason: ReasonRequested}
	case current == lifecyclev1alpha1.PhaseRetired:
		return Move{To: lifecyclev1alpha1.PhaseStrategy, Reason: ReasonReactivated}
	case desired.Rank() < current.Rank():
		return Move{To: desired, Reason: ReasonRequested}
	}
	g := gate(current)
	if !g.Passed() {
		return Move{Blocked: &g}
	}
	next := lifecyclev1alpha1.PhaseDiscovery
	if current == lifecyclev1alpha1.PhaseDiscovery {
		next = lifecyclev1alpha1.PhaseDelivery
	}
	return Move{To: next, Reason: ReasonGatesPassed}
}

func joinAnd(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	out := ""
	for i, s := range items {
		switch {
		case i == 0:
			out = s
		case i == len(items)-1:
			out += " and " + s
		default:
			out += ", " + s
		}
	}
	return out
}
