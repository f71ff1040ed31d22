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
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/rollout"
)

// conditionPolarity says which status of a condition is the healthy one, so
// that the event for a transition is Normal when things get better and
// Warning when they get worse.
var conditionPolarity = map[string]metav1.ConditionStatus{
	lifecyclev1alpha1.ConditionReady:       metav1.ConditionTrue,
	lifecyclev1alpha1.ConditionReconciling: metav1.ConditionFalse,
	lifecyclev1alpha1.ConditionStalled:     metav1.ConditionFalse,
	ConditionStrategyGate:                  metav1.ConditionTrue,
	ConditionDiscoveryGate:                 metav1.ConditionTrue,
	ConditionObjectivesMet:                 metav1.ConditionTrue,
	ConditionEligible:                      metav1.ConditionTrue,
	ConditionDrifted:                       metav1.ConditionFalse,
	ConditionServing:                       metav1.ConditionTrue,
}

// Domain condition types.
const (
	// ConditionStrategyGate is True when the product may leave Strategy.
	ConditionStrategyGate = "StrategyGate"
	// ConditionDiscoveryGate is True when the product may leave Discovery.
	ConditionDiscoveryGate = "DiscoveryGate"
	// ConditionObjectivesMet is True when every objective meets its target,
	// False when one misses, Unknown when one cannot be measured.
	ConditionObjectivesMet = "ObjectivesMet"
	// ConditionEligible is True on a ModelVersion that meets its product's
	// promotion policy.
	ConditionEligible = "Eligible"
)

// notifier logs and records an Event together, so the two never disagree.
type notifier struct {
	recorder events.EventRecorder
}

func (n notifier) event(ctx context.Context, obj client.Object, warning bool, reason, action, msg string) {
	typ := corev1.EventTypeNormal
	if warning {
		typ = corev1.EventTypeWarning
	}
	logf.FromContext(ctx).Info(msg, "reason", reason, "type", typ)
	if n.recorder != nil {
		n.recorder.Eventf(obj, nil, typ, reason, action, "%s", msg)
	}
}

// setCondition sets a condition and, when its status changes in a way worth
// telling, records an Event for the transition. It reports whether anything
// changed.
func (n notifier) setCondition(ctx context.Context, obj client.Object, conds *[]metav1.Condition, c metav1.Condition) bool {
	var prev metav1.Condition
	if p := meta.FindStatusCondition(*conds, c.Type); p != nil {
		// Copied: SetStatusCondition updates the element p points to.
		prev = *p
	}
	c.ObservedGeneration = obj.GetGeneration()
	changed := meta.SetStatusCondition(conds, c)
	if prev.Status != c.Status && newsworthy(c.Type, prev, c) {
		healthy := conditionPolarity[c.Type]
		warning := healthy != "" && c.Status != healthy && c.Status != metav1.ConditionUnknown
		n.event(ctx, obj, warning, c.Reason, c.Type, c.Type+" is "+string(c.Status)+": "+c.Message)
	}
	return changed
}

// quiet are the reasons whose conditions make no Event, nor does the end of
// them. Most are waits, which end without anyone acting: a Deployment
// becoming available, a rollout between its steps, a version about to be
// evaluated; the rollout and stage Events already tell that story. Retired
// is the consequence of the phase move that its PhaseChanged Event told.
var quiet = map[string]bool{
	"Progressing":        true,
	"ServingProgressing": true,
	"Rollout" + string(lifecyclev1alpha1.RolloutProgressing): true,
	"Rollout" + string(lifecyclev1alpha1.RolloutPaused):      true,
	rollout.ReasonNotEvaluated:                               true,
	"Retired":                                                true,
}

// newsworthy says whether a change of a condition's status deserves an
// Event. Events are API writes, and at a fleet's scale they were most of
// the operator's writes and of its memory (docs/benchmarks.md), so they are
// kept for what a person would want to hear of: a condition going bad for a
// reason other than a wait, and its recovery from such a state. Not told:
// Reconciling, which repeats Ready's reason; a condition that first
// appears healthy; a quiet reason, such as a wait, and its end.
func newsworthy(typ string, prev, now metav1.Condition) bool {
	if typ == lifecyclev1alpha1.ConditionReconciling {
		return false
	}
	healthy := conditionPolarity[typ]
	if now.Status == healthy {
		return prev.Status != "" && !quiet[prev.Reason]
	}
	return !quiet[now.Reason]
}

// clearCondition removes a condition whose absence means False (Reconciling,
// Stalled), the way Flux and Cluster API keep status short.
func clearCondition(conds *[]metav1.Condition, typ string) {
	// RemoveStatusCondition copies the list even when the type is absent,
	// as it is on most reconciles.
	if meta.FindStatusCondition(*conds, typ) != nil {
		meta.RemoveStatusCondition(conds, typ)
	}
}

// dueTracker remembers, per object, when a periodic evaluation is next due and
// for which generation it was made. It lives in memory: after a restart
// everything is due once, which costs one round of queries and nothing else.
type dueTracker struct {
	mu   sync.Mutex
	next map[types.NamespacedName]dueAt
}

type dueAt struct {
	generation int64
	at         time.Time
}

// due reports whether the evaluation for key is due at now, and if not, how
// long until it is. A new generation is always due.
func (s *dueTracker) due(key types.NamespacedName, generation int64, now time.Time) (bool, time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d, ok := s.next[key]
	if !ok || d.generation != generation || !now.Before(d.at) {
		return true, 0
	}
	return false, d.at.Sub(now)
}

func (s *dueTracker) set(key types.NamespacedName, generation int64, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.next == nil {
		s.next = map[types.NamespacedName]dueAt{}
	}
	s.next[key] = dueAt{generation: generation, at: at}
}

func (s *dueTracker) forget(key types.NamespacedName) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.next, key)
}
