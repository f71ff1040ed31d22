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

package main

import (
	"context"
	"fmt"
	"sort"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/prom"
)

// The probes' timings: short, so that a probe takes seconds, and whole
// seconds, as the operator records times to the second.
const (
	probeMonitoring = 5 * time.Second
	probeFor        = 3 * time.Second
	probePause      = 3 * time.Second
	metricProbePSI  = "bench_probe_drift_psi"
	// probeTimeout bounds each wait of a probe: a large fleet's queue may
	// hold a new product back for a while, which the report then shows.
	probeTimeout = 5 * time.Minute
)

// reactions are the delays from a due event to the operator's action.
type reactions []time.Duration

func (r reactions) quantile(q float64) time.Duration {
	if len(r) == 0 {
		return 0
	}
	s := append(reactions(nil), r...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[int(q*float64(len(s)-1)+0.5)]
}

func (r reactions) max() time.Duration { return r.quantile(1) }

// probeProduct is a fleet product reduced to what a probe needs, pinned to
// its first version.
func probeProduct(ns, name string) *lifecyclev1alpha1.AIProduct {
	p := fleetProduct(ns, name, time.Minute, false)
	p.Labels = map[string]string{"bench.aipm.io/role": "probe"}
	p.Spec.Discovery.Experiments[0].ModelVersion = lifecyclev1alpha1.LocalObjectName(versionName(name, 0))
	p.Spec.Delivery.ModelVersion.Name = lifecyclev1alpha1.LocalObjectName(versionName(name, 0))
	p.Spec.Delivery.Monitoring = nil
	p.Spec.Delivery.Retraining = nil
	return p
}

// applyProbes creates the probe products, their Discovery stand-ins and
// versions, then waits for all of them to be Ready.
func (h *harness) applyProbes(ctx context.Context, products []*lifecyclev1alpha1.AIProduct, versions int) error {
	for _, p := range products {
		if err := h.direct.Create(ctx, p); err != nil {
			return err
		}
		if err := discoveryDone(ctx, h.direct, p); err != nil {
			return err
		}
		for i := range versions {
			if err := h.direct.Create(ctx, fleetVersion(p.Namespace, p.Name, i, true)); err != nil {
				return err
			}
		}
	}
	for _, p := range products {
		if err := h.until(ctx, probeTimeout, func() bool {
			got := &lifecyclev1alpha1.AIProduct{}
			return h.mgr.GetClient().Get(ctx, client.ObjectKeyFromObject(p), got) == nil && ready(got)
		}); err != nil {
			return fmt.Errorf("probe %s not Ready: %w", p.Name, err)
		}
	}
	return nil
}

// until polls cond every 20ms until it holds or timeout passes.
func (h *harness) until(ctx context.Context, timeout time.Duration, cond func() bool) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

// driftReactions measures, for k products, the time from the moment a drift
// breach has lasted its for (as the operator recorded the breach) to the
// harness seeing the retraining Job.
func (h *harness) driftReactions(ctx context.Context, ns string, k int, fp *fakePrometheus) (reactions, error) {
	fp.mu.Lock()
	fp.byMetric[metricProbePSI] = 0.05
	fp.mu.Unlock()
	var products []*lifecyclev1alpha1.AIProduct
	for i := range k {
		p := probeProduct(ns, fmt.Sprintf("drift-%d", i))
		p.Spec.Delivery.Monitoring = &lifecyclev1alpha1.MonitoringSpec{Interval: metav1.Duration{Duration: probeMonitoring},
			Drift: []lifecyclev1alpha1.DriftCheck{{Name: "amount-psi", Feature: "amount", Query: metricProbePSI + "{product=$product, version=$version}",
				Threshold: "0.2", Statistic: lifecyclev1alpha1.StatisticPSI, For: metav1.Duration{Duration: probeFor}}}}
		p.Spec.Delivery.Retraining = &lifecyclev1alpha1.RetrainingSpec{OnDrift: true, ConcurrencyPolicy: lifecyclev1alpha1.ConcurrencyForbid,
			SuccessfulJobsHistoryLimit: 3, FailedJobsHistoryLimit: 1, Template: trainerTemplate()}
		products = append(products, p)
	}
	if err := h.applyProbes(ctx, products, 1); err != nil {
		return nil, fmt.Errorf("drift probes: %w", err)
	}
	for _, p := range products {
		// The operator must have measured the check within its threshold
		// first, so that the breach below starts an episode of its own.
		if err := h.until(ctx, probeTimeout, func() bool {
			got := &lifecyclev1alpha1.AIProduct{}
			return h.mgr.GetClient().Get(ctx, client.ObjectKeyFromObject(p), got) == nil &&
				len(got.Status.Drift) == 1 && got.Status.Drift[0].Result == lifecyclev1alpha1.ResultMet
		}); err != nil {
			return nil, fmt.Errorf("drift probe %s never measured: %w", p.Name, err)
		}
		vars := map[string]string{"product": p.Name, "version": versionName(p.Name, 0)}
		fp.set(prom.Expand(string(p.Spec.Delivery.Monitoring.Drift[0].Query), vars), 0.5)
	}
	var out reactions
	for _, p := range products {
		key := client.ObjectKeyFromObject(p)
		if err := h.until(ctx, probeTimeout, func() bool { _, ok := h.jobs.get(key); return ok }); err != nil {
			return nil, fmt.Errorf("no retraining Job for drift probe %s: %w", p.Name, err)
		}
		seen, _ := h.jobs.get(key)
		got := &lifecyclev1alpha1.AIProduct{}
		if err := h.direct.Get(ctx, key, got); err != nil {
			return nil, err
		}
		if len(got.Status.Drift) != 1 || got.Status.Drift[0].BreachedSince == nil {
			return nil, fmt.Errorf("drift probe %s has a Job but no breach in status", p.Name)
		}
		due := got.Status.Drift[0].BreachedSince.Add(probeFor)
		out = append(out, seen.Sub(due))
	}
	return out, nil
}

// pauseReactions measures, for k products, the time from the end of a timed
// pause (its start as the operator recorded it, plus its duration) to the
// harness seeing the next step's weight in status.
func (h *harness) pauseReactions(ctx context.Context, ns string, k int) (reactions, error) {
	var keys []types.NamespacedName
	var products []*lifecyclev1alpha1.AIProduct
	for i := range k {
		p := probeProduct(ns, fmt.Sprintf("pause-%d", i))
		p.Spec.Delivery.Rollout = &lifecyclev1alpha1.RolloutSpec{Steps: []lifecyclev1alpha1.RolloutStep{
			{SetWeight: ptr.To[int32](20)},
			{Pause: &lifecyclev1alpha1.PauseStep{Duration: &metav1.Duration{Duration: probePause}}},
			{SetWeight: ptr.To[int32](60)},
			{Pause: &lifecyclev1alpha1.PauseStep{}},
		}}
		products = append(products, p)
		keys = append(keys, client.ObjectKeyFromObject(p))
	}
	if err := h.applyProbes(ctx, products, 2); err != nil {
		return nil, fmt.Errorf("pause probes: %w", err)
	}
	for _, key := range keys {
		h.rolls.follow(key, 1, 60)
		patch := fmt.Sprintf(`{"spec":{"delivery":{"modelVersion":{"name":%q}}}}`, versionName(key.Name, 1))
		p := &lifecyclev1alpha1.AIProduct{}
		p.Namespace, p.Name = key.Namespace, key.Name
		if err := h.direct.Patch(ctx, p, client.RawPatch(types.MergePatchType, []byte(patch))); err != nil {
			return nil, err
		}
	}
	var out reactions
	for _, key := range keys {
		if err := h.until(ctx, probeTimeout, func() bool { _, _, ok := h.rolls.result(key); return ok }); err != nil {
			return nil, fmt.Errorf("pause probe %s never moved past its pause: %w", key.Name, err)
		}
		start, seen, _ := h.rolls.result(key)
		out = append(out, seen.Sub(start.Add(probePause)))
	}
	return out, nil
}
