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

package rollout

import (
	"fmt"
	"slices"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/objectives"
)

// ReasonPostPromotionRollback: an objective the post-promotion watch
// guards broke within its window, and the previous production version
// took the traffic back.
const ReasonPostPromotionRollback = "PostPromotionRollback"

// DefaultPostPromotionWindow is postPromotion.window when unset.
const DefaultPostPromotionWindow = time.Hour

// WatchEnds is when the post-promotion watch of a Succeeded rollout ends;
// zero when there is none.
func WatchEnds(spec *lifecyclev1alpha1.RolloutSpec, ro *lifecyclev1alpha1.RolloutStatus) time.Time {
	if spec == nil || spec.PostPromotion == nil || ro == nil || ro.Phase != lifecyclev1alpha1.RolloutSucceeded ||
		ro.FinishedAt == nil || ro.StableVersion == "" {
		return time.Time{}
	}
	window := spec.PostPromotion.Window.Duration
	if window <= 0 {
		window = DefaultPostPromotionWindow
	}
	return ro.FinishedAt.Add(window)
}

// Watch judges a promoted version within its post-promotion window. A
// guarded objective that has been Missed for its breachFor since the
// promotion (a miss older than the promotion counts from the promotion,
// the new version's own time) is the breach that rolls it back. wait is
// how long until the watch should look again: the soonest miss that could
// become a breach, or the window's end; zero once the window is over.
func Watch(spec *lifecyclev1alpha1.RolloutSpec, ro *lifecyclev1alpha1.RolloutStatus, objs []lifecyclev1alpha1.Objective,
	results []lifecyclev1alpha1.ObjectiveStatus, now time.Time) (breach *objectives.Breach, wait time.Duration) {
	end := WatchEnds(spec, ro)
	if end.IsZero() || !now.Before(end) {
		return nil, 0
	}
	wait = end.Sub(now)
	byName := map[string]lifecyclev1alpha1.ObjectiveStatus{}
	for _, r := range results {
		byName[r.Name] = r
	}
	for _, o := range objs {
		st, ok := byName[o.Name]
		if !slices.Contains(spec.PostPromotion.Objectives, o.Name) || !ok || st.Result != lifecyclev1alpha1.ResultMissed ||
			st.LastTransitionTime == nil {
			continue
		}
		since := st.LastTransitionTime.Time
		if since.Before(ro.FinishedAt.Time) {
			since = ro.FinishedAt.Time
		}
		if left := since.Add(objectives.BreachFor(o)).Sub(now); left > 0 {
			wait = min(wait, left)
			continue
		}
		if breach == nil || since.Before(breach.Since) {
			breach = &objectives.Breach{Objective: o, Status: st, Since: since}
		}
	}
	return breach, wait
}

// RollBack turns a Succeeded rollout back into an abort: traffic returns
// to the previous production version once it is available at full size,
// as after a failed analysis, and the promoted version is Rejected with
// the breach as its reason.
func RollBack(ro *lifecyclev1alpha1.RolloutStatus, b objectives.Breach, now metav1.Time) Event {
	ro.Phase, ro.Reason, ro.Weight = lifecyclev1alpha1.RolloutAborting, ReasonPostPromotionRollback, 0
	ro.FinishedAt, ro.ScaleDownAt, ro.CanaryUnavailableSince = nil, nil, nil
	ro.StepStartedAt = &now
	why := fmt.Sprintf("objective %s is %s against a target of %s %s, missed for %s within the post-promotion window",
		b.Objective.Name, b.Status.Value, wordFor(b.Objective.Direction), b.Objective.Target,
		now.Sub(b.Since).Round(time.Second))
	ro.Message = fmt.Sprintf("%s rolling back: %s", ro.CanaryVersion, why)
	return Event{Warning: true, Reason: "PostPromotionRollback",
		Message: fmt.Sprintf("Rolling %s back to %s: %s", ro.CanaryVersion, ro.StableVersion, why)}
}
