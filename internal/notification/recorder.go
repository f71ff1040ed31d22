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

package notification

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
)

// MomentOf is the moment an Event of the operator tells, "" for the ones
// nobody subscribes to. kind is the kind of the object the Event is about;
// action is the Event's action, which for a condition's change is the
// condition's type.
func MomentOf(kind, eventType, reason, action string) lifecyclev1alpha1.Moment {
	warning := eventType == corev1.EventTypeWarning
	switch kind {
	case "RetrainingRun":
		switch reason {
		case "RetrainingSucceeded":
			return lifecyclev1alpha1.MomentRetrainingSucceeded
		case "RetrainingFailed", "RetrainingRefused":
			return lifecyclev1alpha1.MomentRetrainingFailed
		}
	case "AIProduct":
		switch {
		case reason == "PhaseChanged":
			return lifecyclev1alpha1.MomentPhaseChanged
		case reason == "RolloutStarted":
			return lifecyclev1alpha1.MomentRolloutStarted
		case reason == "AwaitingApproval":
			return lifecyclev1alpha1.MomentRolloutAwaitingApproval
		case reason == "RolloutSucceeded":
			return lifecyclev1alpha1.MomentRolloutPromoted
		case reason == "RolloutAborted":
			return lifecyclev1alpha1.MomentRolloutAborted
		case reason == "PostPromotionRollback":
			return lifecyclev1alpha1.MomentPostPromotionRollback
		case warning && (action == lifecyclev1alpha1.ConditionStrategyGate || action == lifecyclev1alpha1.ConditionDiscoveryGate):
			return lifecyclev1alpha1.MomentGateBlocked
		case warning && action == lifecyclev1alpha1.ConditionDrifted:
			return lifecyclev1alpha1.MomentDriftDetected
		case warning && action == lifecyclev1alpha1.ConditionObjectivesMet:
			return lifecyclev1alpha1.MomentObjectiveBreached
		}
	}
	return ""
}

// Recorder records Events as the recorder it wraps does, and hands the
// moments among them to the Dispatcher: wherever the operator tells a
// person something, a subscriber hears it too.
type Recorder struct {
	events.EventRecorder
	Dispatcher *Dispatcher
	Now        func() time.Time
}

// Eventf records the Event, then queues its notice, never waiting.
func (r Recorder) Eventf(regarding runtime.Object, related runtime.Object, eventtype, reason, action, note string, args ...interface{}) {
	r.EventRecorder.Eventf(regarding, related, eventtype, reason, action, note, args...)
	n, ok := noticeOf(regarding, eventtype, reason, action)
	if !ok || r.Dispatcher == nil {
		return
	}
	n.Message = fmt.Sprintf(note, args...)
	n.Time = time.Now()
	if r.Now != nil {
		n.Time = r.Now()
	}
	r.Dispatcher.Notify(context.Background(), n)
}

func noticeOf(o runtime.Object, eventType, reason, action string) (Notice, bool) {
	n := Notice{Reason: reason, Warning: eventType == corev1.EventTypeWarning}
	switch obj := o.(type) {
	case *lifecyclev1alpha1.AIProduct:
		n.Kind, n.Name, n.Namespace, n.Product = "AIProduct", obj.Name, obj.Namespace, obj.Name
	case *lifecyclev1alpha1.RetrainingRun:
		n.Kind, n.Name, n.Namespace, n.Product = "RetrainingRun", obj.Name, obj.Namespace, string(obj.Spec.Product)
	default:
		return Notice{}, false
	}
	n.Moment = MomentOf(n.Kind, eventType, reason, action)
	return n, n.Moment != ""
}
