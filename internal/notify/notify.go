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

// Package notify tells people what the operator did: it logs and records an
// Event together, so the two never disagree, and sets status conditions,
// recording an Event when a condition's change is worth telling. Every
// reconciler uses it, so every kind tells its story the same way.
package notify

import (
	"context"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/events"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
)

// Notifier logs and records Events. The zero value logs only.
type Notifier struct {
	Recorder events.EventRecorder
}

// Event logs msg and records it as an Event on obj.
func (n Notifier) Event(ctx context.Context, obj client.Object, warning bool, reason, action, msg string) {
	typ := corev1.EventTypeNormal
	if warning {
		typ = corev1.EventTypeWarning
	}
	logf.FromContext(ctx).Info(msg, "reason", reason, "type", typ)
	if n.Recorder != nil {
		n.Recorder.Eventf(obj, nil, typ, reason, action, "%s", msg)
	}
}

// SetCondition sets a condition at obj's generation and, when its status
// changes in a way worth telling, records an Event for the transition. It
// reports whether anything changed.
func (n Notifier) SetCondition(ctx context.Context, obj client.Object, conds *[]metav1.Condition, c metav1.Condition) bool {
	var prev metav1.Condition
	if p := meta.FindStatusCondition(*conds, c.Type); p != nil {
		// Copied: SetStatusCondition updates the element p points to.
		prev = *p
	}
	c.ObservedGeneration = obj.GetGeneration()
	changed := meta.SetStatusCondition(conds, c)
	if prev.Status != c.Status && Newsworthy(c.Type, prev, c) {
		healthy := lifecyclev1alpha1.HealthyStatus(c.Type)
		warning := healthy != "" && c.Status != healthy && c.Status != metav1.ConditionUnknown
		n.Event(ctx, obj, warning, c.Reason, c.Type, c.Type+" is "+string(c.Status)+": "+c.Message)
	}
	return changed
}

// Clear removes a condition whose absence means False (Reconciling,
// Stalled), the way Flux and Cluster API keep status short.
func Clear(conds *[]metav1.Condition, typ string) {
	// RemoveStatusCondition copies the list even when the type is absent,
	// as it is on most reconciles.
	if meta.FindStatusCondition(*conds, typ) != nil {
		meta.RemoveStatusCondition(conds, typ)
	}
}

// quiet are the reasons whose conditions make no Event, nor does the end of
// them. Most are waits, which end without anyone acting: a Deployment
// becoming available, a rollout between its steps, a version about to be
// evaluated, an experiment or a run under way; the Events of the rollout,
// the experiment and the run already tell that story. Retired is the
// consequence of the phase move that its PhaseChanged Event told, Rejected
// that of an aborted rollout or a failed experiment.
var quiet = map[string]bool{
	lifecyclev1alpha1.ReasonProgressing:         true,
	lifecyclev1alpha1.ReasonServingProgressing:  true,
	lifecyclev1alpha1.ReasonRolloutProgressing:  true,
	lifecyclev1alpha1.ReasonRolloutPaused:       true,
	lifecyclev1alpha1.ReasonPromoting:           true,
	lifecyclev1alpha1.ReasonAborting:            true,
	lifecyclev1alpha1.ReasonVersionNotEvaluated: true,
	lifecyclev1alpha1.ReasonRetired:             true,
	lifecyclev1alpha1.ReasonRunPending:          true,
	lifecyclev1alpha1.ReasonRunRunning:          true,
	lifecyclev1alpha1.ReasonExperimentWaiting:   true,
	lifecyclev1alpha1.ReasonExperimentRunning:   true,
	// The product's RolloutAborted or the Experiment's Event told it.
	lifecyclev1alpha1.ReasonRejected: true,
}

// Newsworthy says whether a change of a condition's status deserves an
// Event. Events are API writes, and at a fleet's scale they were most of
// the operator's writes and of its memory (docs/benchmarks.md), so they are
// kept for what a person would want to hear of: a condition going bad for a
// reason other than a wait, and its recovery from such a state. Not told:
// Reconciling, which repeats Ready's reason; a condition that first
// appears healthy; a quiet reason, such as a wait, and its end.
func Newsworthy(typ string, prev, now metav1.Condition) bool {
	if typ == lifecyclev1alpha1.ConditionReconciling {
		return false
	}
	healthy := lifecyclev1alpha1.HealthyStatus(typ)
	if now.Status == healthy {
		return prev.Status != "" && !quiet[prev.Reason]
	}
	return !quiet[now.Reason]
}
