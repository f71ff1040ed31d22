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
package controller

import (
	"context"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/gates"
	"github.com/aipm-io/aipm-operator/internal/notify"
	"github.com/aipm-io/aipm-operator/internal/objectives"
	"github.com/aipm-io/aipm-operator/internal/prom"
)

// maxPhaseHistory bounds status.phaseHistory.
const maxPhaseHistory = 20

// reconcileObjectives queries the objectives when they are due and returns
// how long until they are due again.
func (r *AIProductReconciler) reconcileObjectives(ctx context.Context, s *productScope) (time.Duration, error) {
	p := s.product
	st := p.Spec.Strategy
	if st == nil || len(st.Objectives) == 0 {
		p.Status.Objectives = nil
		notify.Clear(&p.Status.Conditions, lifecyclev1alpha1.ConditionObjectivesMet)
		return 0, nil
	}
	interval := defaultEvaluationInterval
	if st.EvaluationInterval != nil && st.EvaluationInterval.Duration > 0 {
		interval = st.EvaluationInterval.Duration
	}
	key := client.ObjectKeyFromObject(p)
	if due, wait := r.objectivesDue.due(key, p.Generation, s.now.Time); !due {
		return wait, nil
	}
	// $version is the production version: an objective that guards
	// rollouts uses it, and reads production's value here.
	vars := map[string]string{"namespace": p.Namespace, "product": p.Name, "version": p.Status.ProductionVersion}
	measure := func(o lifecyclev1alpha1.Objective) (float64, error) {
		return r.measure(ctx, o.Query, o.MatchLabels, vars, interval)
	}
	p.Status.Objectives = objectives.Evaluate(measure, st.Objectives, p.Status.Objectives, s.now)
	status, reason, msg := objectives.Summary(p.Status.Objectives)
	s.notify.SetCondition(ctx, p, &p.Status.Conditions, metav1.Condition{
		Type: lifecyclev1alpha1.ConditionObjectivesMet, Status: status, Reason: reason, Message: msg,
	})
	r.objectivesDue.set(key, p.Generation, s.now.Add(interval))
	return interval, nil
}

// measure runs one of the product's periodic queries: alone, or, with
// match, as a fleet query whose result serves every product asking the
// same for half of each one's interval. Half keeps a product's reading
// within its own interval of the data while a fleet on one interval sends
// a query about twice an interval, not once per product.
func (r *AIProductReconciler) measure(ctx context.Context, query lifecyclev1alpha1.PromQL, match lifecyclev1alpha1.SeriesMatch,
	vars map[string]string, interval time.Duration) (float64, error) {
	q := prom.Expand(string(query), vars)
	if len(match) == 0 {
		return r.Prometheus.Query(ctx, q)
	}
	return r.fleet.Select(ctx, q, prom.ExpandLabels(match, vars), interval/2)
}

// reconcilePhase evaluates both gates and moves status.phase toward
// spec.phase, one phase per step, recording each move.
func (r *AIProductReconciler) reconcilePhase(ctx context.Context, s *productScope) (time.Duration, error) {
	p := s.product
	results := map[lifecyclev1alpha1.ProductPhase]gates.Result{
		lifecyclev1alpha1.PhaseStrategy:  gates.EvaluateStrategy(&p.Spec),
		lifecyclev1alpha1.PhaseDiscovery: gates.EvaluateDiscovery(&p.Spec, s.experiments, p.Status.Objectives),
	}
	p.Status.Gates = p.Status.Gates[:0]
	for _, phase := range []lifecyclev1alpha1.ProductPhase{lifecyclev1alpha1.PhaseStrategy, lifecyclev1alpha1.PhaseDiscovery} {
		g := results[phase]
		gs := lifecyclev1alpha1.GateStatus{Name: g.Name, Passed: g.Passed()}
		for _, b := range g.Blockers {
			gs.Blockers = append(gs.Blockers, b.Message)
		}
		p.Status.Gates = append(p.Status.Gates, gs)
		s.notify.SetCondition(ctx, p, &p.Status.Conditions, gateCondition(g))
	}

	// The moves of one reconcile make one Event: a product applied straight
	// into Delivery would otherwise cost three writes for one decision.
	var moves []string
	defer func() {
		if len(moves) > 0 {
			s.notify.Event(ctx, p, false, "PhaseChanged", "MovePhase", strings.Join(moves, "; "))
		}
	}()
	// Three forward steps at most take any phase to any other; the bound
	// guards against a decision function that never settles.
	for range 4 {
		move := gates.NextPhase(p.Status.Phase, p.Spec.Phase, func(ph lifecyclev1alpha1.ProductPhase) gates.Result {
			return results[ph]
		})
		if move.To == "" {
			return 0, nil
		}
		from := p.Status.Phase
		p.Status.Phase = move.To
		p.Status.PhaseHistory = append(p.Status.PhaseHistory, lifecyclev1alpha1.PhaseTransition{
			From: from, To: move.To, Time: s.now, Reason: move.Reason,
		})
		if extra := len(p.Status.PhaseHistory) - maxPhaseHistory; extra > 0 {
			p.Status.PhaseHistory = p.Status.PhaseHistory[extra:]
		}
		msg := fmt.Sprintf("Entered phase %s", move.To)
		if from != "" {
			msg = fmt.Sprintf("Moved from %s to %s (%s)", from, move.To, move.Reason)
		}
		moves = append(moves, msg)
	}
	return 0, nil
}

func gateCondition(g gates.Result) metav1.Condition {
	typ := lifecyclev1alpha1.ConditionStrategyGate
	if g.Name == gates.Discovery {
		typ = lifecyclev1alpha1.ConditionDiscoveryGate
	}
	if g.Passed() {
		return metav1.Condition{Type: typ, Status: metav1.ConditionTrue, Reason: lifecyclev1alpha1.ReasonGatePassed,
			Message: fmt.Sprintf("every requirement of the %s gate holds", g.Name)}
	}
	msgs := make([]string, 0, len(g.Blockers))
	for _, b := range g.Blockers {
		msgs = append(msgs, b.Message)
	}
	return metav1.Condition{Type: typ, Status: metav1.ConditionFalse, Reason: g.Blockers[0].Reason,
		Message: strings.Join(msgs, "; ")}
}
