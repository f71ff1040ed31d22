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
	"k8s.io/utils/ptr"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
)

// product is a Discovery product serving v1 through the Deployment backend,
// which lets experiment "live" take live traffic.
func product(edit func(p *lifecyclev1alpha1.AIProduct)) *lifecyclev1alpha1.AIProduct {
	p := &lifecyclev1alpha1.AIProduct{
		ObjectMeta: metav1.ObjectMeta{Name: "shop", Namespace: "default"},
		Spec: lifecyclev1alpha1.AIProductSpec{Delivery: &lifecyclev1alpha1.DeliverySpec{
			Serving: lifecyclev1alpha1.ServingSpec{Backend: lifecyclev1alpha1.BackendDeployment},
		}},
		Status: lifecyclev1alpha1.AIProductStatus{Phase: lifecyclev1alpha1.PhaseDiscovery, ProductionVersion: "v1", LiveExperiment: "live"},
	}
	if edit != nil {
		edit(p)
	}
	return p
}

func exp(name string, typ lifecyclev1alpha1.ExperimentType) *lifecyclev1alpha1.DiscoveryExperiment {
	return &lifecyclev1alpha1.DiscoveryExperiment{Name: name, Type: typ, ModelVersion: "v2"}
}

func TestCannotStart(t *testing.T) {
	ours := Candidate{Found: true, Product: "shop"}
	tests := []struct {
		name      string
		product   *lifecyclev1alpha1.AIProduct
		exp       *lifecyclev1alpha1.DiscoveryExperiment
		candidate Candidate
		want      string
	}{
		{"a sandbox in Discovery starts", product(nil), exp("sb", lifecyclev1alpha1.ExperimentSandbox), ours, ""},
		{"the named live experiment starts", product(nil), exp("live", lifecyclev1alpha1.ExperimentShadow), ours, ""},
		{"an ABTest may run in Delivery",
			product(func(p *lifecyclev1alpha1.AIProduct) { p.Status.Phase = lifecyclev1alpha1.PhaseDelivery }),
			exp("live", lifecyclev1alpha1.ExperimentABTest), ours, ""},
		{"a shadow may not run in Delivery",
			product(func(p *lifecyclev1alpha1.AIProduct) { p.Status.Phase = lifecyclev1alpha1.PhaseDelivery }),
			exp("live", lifecyclev1alpha1.ExperimentShadow), ours, "the product is in Delivery; only ABTest experiments run there"},
		{"nothing runs in Strategy",
			product(func(p *lifecyclev1alpha1.AIProduct) { p.Status.Phase = lifecyclev1alpha1.PhaseStrategy }),
			exp("sb", lifecyclev1alpha1.ExperimentSandbox), ours, "experiments run in Discovery; the product is in Strategy"},
		{"a product not yet reconciled",
			product(func(p *lifecyclev1alpha1.AIProduct) { p.Status.Phase = "" }),
			exp("sb", lifecyclev1alpha1.ExperimentSandbox), ours, "experiments run in Discovery; the product has no phase yet"},
		{"no serving spec",
			product(func(p *lifecyclev1alpha1.AIProduct) { p.Spec.Delivery = nil }),
			exp("sb", lifecyclev1alpha1.ExperimentSandbox), ours, "experiments run the candidate from spec.delivery.serving with the Deployment backend; set it"},
		{"KServe serving",
			product(func(p *lifecyclev1alpha1.AIProduct) {
				p.Spec.Delivery.Serving.Backend = lifecyclev1alpha1.BackendKServe
			}),
			exp("sb", lifecyclev1alpha1.ExperimentSandbox), ours, "experiments run the candidate from spec.delivery.serving with the Deployment backend; set it"},
		{"an ABTest without production",
			product(func(p *lifecyclev1alpha1.AIProduct) { p.Status.ProductionVersion = "" }),
			exp("live", lifecyclev1alpha1.ExperimentABTest), ours, "an ABTest needs a production version to compare with (A); the product has none yet"},
		{"a shadow of the production version",
			product(nil), &lifecyclev1alpha1.DiscoveryExperiment{Name: "live", Type: lifecyclev1alpha1.ExperimentShadow, ModelVersion: "v1"},
			ours, "the candidate v1 is the production version; an experiment needs another version"},
		{"a live experiment during a rollout",
			product(func(p *lifecyclev1alpha1.AIProduct) {
				p.Status.Rollout = &lifecyclev1alpha1.RolloutStatus{CanaryVersion: "v3", Phase: lifecyclev1alpha1.RolloutPaused}
			}),
			exp("live", lifecyclev1alpha1.ExperimentShadow), ours, "waits for the rollout of v3: live-traffic experiments never run during a rollout"},
		{"a finished rollout is no obstacle",
			product(func(p *lifecyclev1alpha1.AIProduct) {
				p.Status.Rollout = &lifecyclev1alpha1.RolloutStatus{CanaryVersion: "v3", Phase: lifecyclev1alpha1.RolloutSucceeded}
			}),
			exp("live", lifecyclev1alpha1.ExperimentShadow), ours, ""},
		{"a sandbox ignores rollouts and live traffic",
			product(func(p *lifecyclev1alpha1.AIProduct) {
				p.Status.Rollout = &lifecyclev1alpha1.RolloutStatus{CanaryVersion: "v3", Phase: lifecyclev1alpha1.RolloutProgressing}
				p.Status.LiveExperiment = "other"
			}),
			exp("sb", lifecyclev1alpha1.ExperimentSandbox), ours, ""},
		{"another experiment has the live traffic",
			product(func(p *lifecyclev1alpha1.AIProduct) { p.Status.LiveExperiment = "other" }),
			exp("live", lifecyclev1alpha1.ExperimentShadow), ours, "waits for experiment other: one live-traffic experiment at a time"},
		{"no experiment has the live traffic yet",
			product(func(p *lifecyclev1alpha1.AIProduct) { p.Status.LiveExperiment = "" }),
			exp("live", lifecyclev1alpha1.ExperimentABTest), ours,
			"waits for the product to give it live traffic (status.liveExperiment): one live-traffic experiment at a time"},
		{"no candidate", product(nil), exp("sb", lifecyclev1alpha1.ExperimentSandbox), Candidate{}, "waiting for ModelVersion v2"},
		{"another product's candidate", product(nil), exp("sb", lifecyclev1alpha1.ExperimentSandbox),
			Candidate{Found: true, Product: "bank"}, "ModelVersion v2 belongs to product bank"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CannotStart(tt.product, tt.exp, tt.candidate); got != tt.want {
				t.Fatalf("CannotStart = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestTraffic(t *testing.T) {
	route := func(p *lifecyclev1alpha1.AIProduct) {
		p.Spec.Delivery.Serving.HTTPRoute = &lifecyclev1alpha1.HTTPRouteRef{Name: "web"}
	}
	header := exp("live", lifecyclev1alpha1.ExperimentABTest)
	header.HeaderMatch = &lifecyclev1alpha1.HeaderMatch{Name: "x-canary", Value: "1"}
	mirrorFrom := exp("live", lifecyclev1alpha1.ExperimentShadow)
	mirrorFrom.MirrorFrom = ptr.To(lifecyclev1alpha1.LocalObjectName("rules-engine"))
	tests := []struct {
		name    string
		product *lifecyclev1alpha1.AIProduct
		exp     *lifecyclev1alpha1.DiscoveryExperiment
		want    string
	}{
		{"a shadow mirrors through a route", product(route), exp("live", lifecyclev1alpha1.ExperimentShadow), lifecyclev1alpha1.TrafficMirrored},
		{"a shadow without a route gets nothing", product(nil), exp("live", lifecyclev1alpha1.ExperimentShadow), lifecyclev1alpha1.TrafficNone},
		{"a shadow without production has nothing to mirror",
			product(func(p *lifecyclev1alpha1.AIProduct) { route(p); p.Status.ProductionVersion = "" }),
			exp("live", lifecyclev1alpha1.ExperimentShadow), lifecyclev1alpha1.TrafficNone},
		{"a shadow without production mirrors the system it replaces",
			product(func(p *lifecyclev1alpha1.AIProduct) { route(p); p.Status.ProductionVersion = "" }),
			mirrorFrom, lifecyclev1alpha1.TrafficMirrored},
		{"mirroring needs a route", product(func(p *lifecyclev1alpha1.AIProduct) { p.Status.ProductionVersion = "" }),
			mirrorFrom, lifecyclev1alpha1.TrafficNone},
		{"an ABTest splits", product(nil), exp("live", lifecyclev1alpha1.ExperimentABTest), lifecyclev1alpha1.TrafficSplit},
		{"an ABTest by header needs a route", product(nil), header, lifecyclev1alpha1.TrafficSplit},
		{"an ABTest by header", product(route), header, lifecyclev1alpha1.TrafficHeader},
		{"a sandbox gets none", product(route), exp("sb", lifecyclev1alpha1.ExperimentSandbox), lifecyclev1alpha1.TrafficNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Traffic(tt.product, tt.exp); got != tt.want {
				t.Fatalf("Traffic = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestDue(t *testing.T) {
	start := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	at := func(s int) time.Time { return start.Add(time.Duration(s) * time.Second) }
	tests := []struct {
		name          string
		last          time.Time
		interval      time.Duration
		now           time.Time
		measure, over bool
		next          time.Duration
	}{
		{"just started: first measurement an interval later", time.Time{}, 5 * time.Second, at(0), false, false, 5 * time.Second},
		{"an interval after the start", time.Time{}, 5 * time.Second, at(5), true, false, 5 * time.Second},
		{"between measurements", at(5), 5 * time.Second, at(7), false, false, 3 * time.Second},
		{"the last interval is cut short by the end", at(5), 4 * time.Second, at(9), true, false, time.Second},
		{"the end measures and judges", at(5), 5 * time.Second, at(10), true, true, 0},
		{"long past the end, as after an operator outage", at(5), 5 * time.Second, at(300), true, true, 0},
		{"no interval means the default", time.Time{}, 0, at(3), false, false, 7 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			measure, over, next := Due(start, tt.last, tt.interval, 10*time.Second, tt.now)
			if measure != tt.measure || over != tt.over || next != tt.next {
				t.Fatalf("Due = %v %v %v, want %v %v %v", measure, over, next, tt.measure, tt.over, tt.next)
			}
		})
	}
}
