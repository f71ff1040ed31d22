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

// Package objectives evaluates a product's business objectives through a
// Prometheus querier and summarises them.
package objectives

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/judge"
	"github.com/aipm-io/aipm-operator/internal/prom"
)

// Measure returns an objective's current value; the controller runs its
// query for the product, alone or as a fleet query.
type Measure func(lifecyclev1alpha1.Objective) (float64, error)

// Evaluate measures each objective and judges it against its target. prev
// is the last status; an entry keeps its lastTransitionTime while its
// result stays the same, so an unchanged objective yields an unchanged
// status. Prometheus errors and empty results are Unknown with the reason,
// never Missed.
func Evaluate(measure Measure, objs []lifecyclev1alpha1.Objective,
	prev []lifecyclev1alpha1.ObjectiveStatus, now metav1.Time) []lifecyclev1alpha1.ObjectiveStatus {
	if len(objs) == 0 {
		return nil
	}
	before := make(map[string]lifecyclev1alpha1.ObjectiveStatus, len(prev))
	for _, p := range prev {
		before[p.Name] = p
	}
	out := make([]lifecyclev1alpha1.ObjectiveStatus, 0, len(objs))
	for _, o := range objs {
		st := lifecyclev1alpha1.ObjectiveStatus{Name: o.Name, Target: o.Target, Direction: o.Direction}
		target, terr := o.Target.Float64()
		v, err := measure(o)
		switch {
		case terr != nil:
			st.Result, st.Message = lifecyclev1alpha1.ResultUnknown, terr.Error()
		case errors.Is(err, prom.ErrNoData):
			st.Result, st.Message = lifecyclev1alpha1.ResultUnknown, "the query returned no data"
		case err != nil:
			st.Result, st.Message = lifecyclev1alpha1.ResultUnknown, fmt.Sprintf("query failed: %v", err)
		default:
			st.Value = lifecyclev1alpha1.DecimalOf(v)
			st.Result = judge.Threshold(v, target, o.Direction)
		}
		if p, ok := before[o.Name]; ok && p.Result == st.Result && p.LastTransitionTime != nil {
			st.LastTransitionTime = p.LastTransitionTime
		} else {
			t := now
			st.LastTransitionTime = &t
		}
		out = append(out, st)
	}
	return out
}

// Summary is the ObjectivesMet condition for a set of results: False when
// any objective is missed, Unknown when none is missed but one is unknown,
// True when all are met.
func Summary(results []lifecyclev1alpha1.ObjectiveStatus) (status metav1.ConditionStatus, reason, message string) {
	var missed, unknown []string
	for _, r := range results {
		switch r.Result {
		case lifecyclev1alpha1.ResultMissed:
			missed = append(missed, fmt.Sprintf("%s is %s, target %s %s", r.Name, r.Value, directionWord(r.Direction), r.Target))
		case lifecyclev1alpha1.ResultUnknown:
			unknown = append(unknown, fmt.Sprintf("%s: %s", r.Name, r.Message))
		}
	}
	switch {
	case len(missed) > 0:
		return metav1.ConditionFalse, lifecyclev1alpha1.ReasonObjectiveMissed, join(missed)
	case len(unknown) > 0:
		return metav1.ConditionUnknown, lifecyclev1alpha1.ReasonObjectiveUnknown, join(unknown)
	default:
		return metav1.ConditionTrue, lifecyclev1alpha1.ReasonObjectivesMet, fmt.Sprintf("all %d objectives meet their targets", len(results))
	}
}

func directionWord(d lifecyclev1alpha1.Direction) string {
	if d == lifecyclev1alpha1.AtMost {
		return "at most"
	}
	return "at least"
}

func join(items []string) string {
	out := ""
	for i, s := range items {
		if i > 0 {
			out += "; "
		}
		out += s
	}
	return out
}

// Degradation is how much worse canary did than stable on an objective
// of direction dir, relative to the stable version's value: 0.2 is 20%
// worse, and a negative value is better. A stable value of zero has no
// relative comparison unless the canary's is zero too.
func Degradation(canary, stable float64, dir lifecyclev1alpha1.Direction) (float64, error) {
	if stable == 0 {
		if canary == 0 {
			return 0, nil
		}
		return 0, fmt.Errorf("the stable version's value is 0, so the canary's %s cannot be compared with it relatively",
			lifecyclev1alpha1.DecimalOf(canary))
	}
	switch dir {
	case lifecyclev1alpha1.AtLeast:
		return (stable - canary) / math.Abs(stable), nil
	case lifecyclev1alpha1.AtMost:
		return (canary - stable) / math.Abs(stable), nil
	}
	return 0, fmt.Errorf("direction %q is neither AtLeast nor AtMost", dir)
}

// DefaultBreachFor is an objective's breachFor when unset.
const DefaultBreachFor = 5 * time.Minute

// BreachFor is how long o must stay Missed before the miss is a breach.
func BreachFor(o lifecyclev1alpha1.Objective) time.Duration {
	if o.BreachFor == nil {
		return DefaultBreachFor
	}
	return o.BreachFor.Duration
}

// Breach is a sustained miss of one objective.
type Breach struct {
	Objective lifecyclev1alpha1.Objective
	Status    lifecyclev1alpha1.ObjectiveStatus
	// Since is when the objective was first seen Missed, its result's
	// last transition: it identifies the breach.
	Since time.Time
}

// Breaches are the objectives among names that have been Missed for their
// breachFor by now, oldest first; wait is how long until the next one
// named and Missed would be, 0 when none is pending.
func Breaches(objs []lifecyclev1alpha1.Objective, results []lifecyclev1alpha1.ObjectiveStatus, names []string,
	now time.Time) (breaches []Breach, wait time.Duration) {
	byName := map[string]lifecyclev1alpha1.ObjectiveStatus{}
	for _, r := range results {
		byName[r.Name] = r
	}
	for _, o := range objs {
		if !slices.Contains(names, o.Name) {
			continue
		}
		st, ok := byName[o.Name]
		if !ok || st.Result != lifecyclev1alpha1.ResultMissed || st.LastTransitionTime == nil {
			continue
		}
		since := st.LastTransitionTime.Time
		if left := since.Add(BreachFor(o)).Sub(now); left > 0 {
			if wait == 0 || left < wait {
				wait = left
			}
			continue
		}
		breaches = append(breaches, Breach{Objective: o, Status: st, Since: since})
	}
	sort.SliceStable(breaches, func(i, j int) bool { return breaches[i].Since.Before(breaches[j].Since) })
	return breaches, wait
}

// Describe says what a breach is, for a status message or an Event.
func (b Breach) Describe() string {
	return fmt.Sprintf("objective %s is %s against a target of %s %s, missed since %s", b.Objective.Name, b.Status.Value,
		directionWord(b.Objective.Direction), b.Objective.Target, b.Since.UTC().Format(time.RFC3339))
}
