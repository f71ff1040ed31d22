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

package experiment

import (
	"fmt"
	"time"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/rollout"
)

// Candidate is what the API server holds of an experiment's candidate
// ModelVersion.
type Candidate struct {
	// Found is false when no ModelVersion of the name exists.
	Found bool
	// Product is the AIProduct the ModelVersion belongs to.
	Product string
}

// CannotStart says why an experiment cannot run now, or "" when it can.
// The same answer stops a running experiment: whatever would keep it from
// starting (the product left its phase, handed live traffic to another
// experiment, began a rollout) also means it must not keep running.
func CannotStart(p *lifecyclev1alpha1.AIProduct, e *lifecyclev1alpha1.DiscoveryExperiment, c Candidate) string {
	live := LiveTraffic(e.Type)
	switch phase := p.Status.Phase; {
	case phase == lifecyclev1alpha1.PhaseDelivery && e.Type != lifecyclev1alpha1.ExperimentABTest:
		return "the product is in Delivery; only ABTest experiments run there"
	case phase == "":
		return "experiments run in Discovery; the product has no phase yet"
	case phase != lifecyclev1alpha1.PhaseDiscovery && phase != lifecyclev1alpha1.PhaseDelivery:
		return fmt.Sprintf("experiments run in Discovery; the product is in %s", phase)
	}
	if p.Spec.Delivery == nil || p.Spec.Delivery.Serving.Backend == lifecyclev1alpha1.BackendKServe {
		return "experiments run the candidate from spec.delivery.serving with the Deployment backend; set it"
	}
	production := p.Status.ProductionVersion
	switch {
	case e.Type == lifecyclev1alpha1.ExperimentABTest && production == "":
		return "an ABTest needs a production version to compare with (A); the product has none yet"
	case live && production == string(e.ModelVersion):
		// Its pods would carry the labels production's Deployment selects.
		return fmt.Sprintf("the candidate %s is the production version; an experiment needs another version", e.ModelVersion)
	case live && p.Status.Rollout != nil && !rollout.Terminal(p.Status.Rollout.Phase):
		return fmt.Sprintf("waits for the rollout of %s: live-traffic experiments never run during a rollout", p.Status.Rollout.CanaryVersion)
	case live && p.Status.LiveExperiment == "":
		return "waits for the product to give it live traffic (status.liveExperiment): one live-traffic experiment at a time"
	case live && p.Status.LiveExperiment != e.Name:
		return fmt.Sprintf("waits for experiment %s: one live-traffic experiment at a time", p.Status.LiveExperiment)
	case !c.Found:
		return fmt.Sprintf("waiting for ModelVersion %s", e.ModelVersion)
	case c.Product != p.Name:
		return fmt.Sprintf("ModelVersion %s belongs to product %s", e.ModelVersion, c.Product)
	}
	return ""
}

// Traffic says what live traffic an experiment can get from its product's
// serving: TrafficMirrored, TrafficHeader, TrafficSplit or TrafficNone.
func Traffic(p *lifecyclev1alpha1.AIProduct, e *lifecyclev1alpha1.DiscoveryExperiment) string {
	route := p.Spec.Delivery != nil && p.Spec.Delivery.Serving.HTTPRoute != nil
	switch e.Type {
	case lifecyclev1alpha1.ExperimentShadow:
		if route && (p.Status.ProductionVersion != "" || e.MirrorFrom != nil) {
			return lifecyclev1alpha1.TrafficMirrored
		}
	case lifecyclev1alpha1.ExperimentABTest:
		if e.HeaderMatch != nil && route {
			return lifecyclev1alpha1.TrafficHeader
		}
		return lifecyclev1alpha1.TrafficSplit
	}
	return lifecyclev1alpha1.TrafficNone
}

// DefaultInterval is the measuring interval of an experiment that has
// none, as the API defaults it.
const DefaultInterval = time.Minute

// Due says what a running experiment, started at started and last measured
// at last (zero when never), needs at now: measure when its interval has
// passed since the last measurement or its duration is over; over when its
// duration is over, and the verdict is due. next is how long until it next
// needs attention, once measured if it measures now; zero when over.
// Everything counts from the recorded times, so a restarted operator picks
// a running experiment up where it was.
func Due(started, last time.Time, interval, duration time.Duration, now time.Time) (measure, over bool, next time.Duration) {
	if interval <= 0 {
		interval = DefaultInterval
	}
	if last.IsZero() || last.Before(started) {
		last = started
	}
	end := started.Add(duration)
	if !now.Before(end) {
		return true, true, 0
	}
	due := last.Add(interval)
	if now.Before(due) {
		return false, false, min(due.Sub(now), end.Sub(now))
	}
	return true, false, min(interval, end.Sub(now))
}
