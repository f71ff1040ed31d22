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
	"sync"
	"sync/atomic"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
	"github.com/aipm-io/aipm-operator/internal/apply"
	"github.com/aipm-io/aipm-operator/internal/controller"
)

// The fleet's Prometheus series. Every product's queries differ only by
// their $product and $version, as a team's templates would.
const (
	metricCTR         = "bench_click_through_ratio"
	metricLatency     = "bench_latency_p99_seconds"
	metricAmountPSI   = "bench_feature_drift_psi"
	metricKS          = "bench_prediction_drift_ks_pvalue"
	metricWasserstein = "bench_embedding_drift_wasserstein"
)

// versionsPerProduct is the shape: three ModelVersions per product.
const versionsPerProduct = 3

// fleetProduct is a product asking for Delivery with every part declared:
// two objectives, serving, a canary rollout, three drift checks, retraining
// on drift and a promotion policy, pinned to its newest version. With
// fleetQueries its objectives and drift checks are fleet queries
// (matchLabels), as a fleet's shared templates would write them; without,
// each product's queries name the product.
func fleetProduct(ns, name string, interval time.Duration, fleetQueries bool) *lifecyclev1alpha1.AIProduct {
	a := func(evidence string) *lifecyclev1alpha1.Assessment {
		return &lifecyclev1alpha1.Assessment{Rating: lifecyclev1alpha1.RatingHigh, Evidence: evidence}
	}
	p := &lifecyclev1alpha1.AIProduct{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"bench.aipm.io/role": "fleet"}},
		Spec: lifecyclev1alpha1.AIProductSpec{
			Description: "A product of the benchmark fleet.",
			Phase:       lifecyclev1alpha1.PhaseDelivery,
			Owners:      lifecyclev1alpha1.Owners{ProductManager: "pm@example.com", DataScientist: "ds@example.com", TechLead: "tl@example.com"},
			Strategy: &lifecyclev1alpha1.StrategySpec{
				Vision:           "Measure the operator at scale.",
				ProblemStatement: "Nobody knows how many products one replica carries.",
				Assessment: lifecyclev1alpha1.ProductAssessment{Value: a("benchmark"), Usability: a("benchmark"),
					Feasibility: a("benchmark"), Viability: a("benchmark")},
				Objectives: []lifecyclev1alpha1.Objective{
					{Name: "click-through", Query: lifecyclev1alpha1.PromQL(metricCTR + "{product=$product}"), Target: "0.1", Direction: lifecyclev1alpha1.AtLeast},
					{Name: "latency-p99", Query: lifecyclev1alpha1.PromQL(metricLatency + "{product=$product}"), Target: "0.05", Direction: lifecyclev1alpha1.AtMost},
				},
				EvaluationInterval: &metav1.Duration{Duration: interval},
			},
			Discovery: &lifecyclev1alpha1.DiscoverySpec{Experiments: []lifecyclev1alpha1.DiscoveryExperiment{{
				Name: "shadow", Type: lifecyclev1alpha1.ExperimentShadow, ModelVersion: lifecyclev1alpha1.LocalObjectName(versionName(name, 0)),
				Duration: metav1.Duration{Duration: time.Hour}, Interval: metav1.Duration{Duration: time.Minute},
				SuccessCriteria: []lifecyclev1alpha1.SuccessCriterion{{Name: "latency", Query: lifecyclev1alpha1.PromQL(metricLatency + "{product=$product, version=$version}"),
					Threshold: "0.05", Direction: lifecyclev1alpha1.AtMost}},
			}}},
			Delivery: &lifecyclev1alpha1.DeliverySpec{
				ModelVersion: lifecyclev1alpha1.ModelVersionSelection{Policy: lifecyclev1alpha1.VersionPinned, Name: lifecyclev1alpha1.LocalObjectName(versionName(name, versionsPerProduct-1))},
				Serving: lifecyclev1alpha1.ServingSpec{Backend: lifecyclev1alpha1.BackendDeployment, Replicas: 2, Port: 8080,
					Template: &corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{
						Name: "server", Image: "example.com/model-server:1", Ports: []corev1.ContainerPort{{ContainerPort: 8080}},
					}}}}},
				Rollout: &lifecyclev1alpha1.RolloutSpec{Steps: []lifecyclev1alpha1.RolloutStep{
					{SetWeight: ptr.To[int32](25)},
					{Pause: &lifecyclev1alpha1.PauseStep{Duration: &metav1.Duration{Duration: 5 * time.Minute}}},
					{SetWeight: ptr.To[int32](100)},
				}},
				Monitoring: &lifecyclev1alpha1.MonitoringSpec{Interval: metav1.Duration{Duration: interval}, Drift: []lifecyclev1alpha1.DriftCheck{
					{Name: "amount-psi", Feature: "amount", Query: lifecyclev1alpha1.PromQL(metricAmountPSI + `{product=$product, version=$version, feature="amount"}`),
						Threshold: "0.2", Statistic: lifecyclev1alpha1.StatisticPSI, For: metav1.Duration{Duration: 15 * time.Minute}},
					{Name: "prediction-ks", Query: lifecyclev1alpha1.PromQL(metricKS + "{product=$product, version=$version}"),
						Threshold: "0.01", Statistic: lifecyclev1alpha1.StatisticKS, For: metav1.Duration{Duration: 30 * time.Minute}},
					{Name: "embedding-wasserstein", Query: lifecyclev1alpha1.PromQL(metricWasserstein + "{product=$product, version=$version}"),
						Threshold: "0.3", Statistic: lifecyclev1alpha1.StatisticWasserstein, For: metav1.Duration{Duration: 15 * time.Minute}},
				}},
				Retraining: &lifecyclev1alpha1.RetrainingSpec{OnDrift: true, ConcurrencyPolicy: lifecyclev1alpha1.ConcurrencyForbid,
					SuccessfulJobsHistoryLimit: 3, FailedJobsHistoryLimit: 1, Template: trainerTemplate()},
				Promotion: &lifecyclev1alpha1.PromotionSpec{Requirements: []lifecyclev1alpha1.MetricRequirement{{Metric: "auc", Min: ptr.To[lifecyclev1alpha1.Decimal]("0.9")}}},
			},
		},
	}
	if fleetQueries {
		byProduct := lifecyclev1alpha1.SeriesMatch{"product": "$product"}
		byVersion := lifecyclev1alpha1.SeriesMatch{"product": "$product", "version": "$version"}
		obj := p.Spec.Strategy.Objectives
		obj[0].Query, obj[0].MatchLabels = metricCTR, byProduct
		obj[1].Query, obj[1].MatchLabels = metricLatency, byProduct
		drift := p.Spec.Delivery.Monitoring.Drift
		drift[0].Query, drift[0].MatchLabels = metricAmountPSI+`{feature="amount"}`, byVersion
		drift[1].Query, drift[1].MatchLabels = metricKS, byVersion
		drift[2].Query, drift[2].MatchLabels = metricWasserstein, byVersion
	}
	return p
}

func trainerTemplate() *batchv1.JobTemplateSpec {
	return &batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{BackoffLimit: ptr.To[int32](1),
		Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
			Containers: []corev1.Container{{Name: "trainer", Image: "example.com/trainer:1"}}}}}}
}

// versionName names the i-th version (1.i.0) of a product.
func versionName(product string, i int) string { return fmt.Sprintf("%s-v1-%d-0", product, i) }

// fleetVersion is the i-th version of a product; every one meets the
// promotion policy. labelled says whether it arrives with the product label
// the operator would otherwise add with a write of its own.
func fleetVersion(ns, product string, i int, labelled bool) *lifecyclev1alpha1.ModelVersion {
	mv := &lifecyclev1alpha1.ModelVersion{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: versionName(product, i)},
		Spec: lifecyclev1alpha1.ModelVersionSpec{
			Product:  lifecyclev1alpha1.LocalObjectName(product),
			Version:  fmt.Sprintf("1.%d.0", i),
			Artifact: lifecyclev1alpha1.Artifact{URI: fmt.Sprintf("s3://models/%s/1.%d.0/model.onnx", product, i), Format: "ONNX"},
			Lineage:  &lifecyclev1alpha1.Lineage{Trigger: lifecyclev1alpha1.TriggerExternal},
			Metrics:  []lifecyclev1alpha1.EvaluationMetric{{Name: "auc", Value: lifecyclev1alpha1.Decimal(fmt.Sprintf("0.9%d", 1+i))}},
		},
	}
	if labelled {
		mv.Labels = map[string]string{lifecyclev1alpha1.LabelProduct: product}
	}
	return mv
}

// discoveryDone stands in for a Discovery phase already passed: it creates
// the product's shadow Experiment as the product would (so the product
// finds nothing to change) and records its success as the Experiment's
// reconciler would. Experiments take an hour of real traffic, which a
// benchmark of Delivery has no use for.
func discoveryDone(ctx context.Context, c client.Client, p *lifecyclev1alpha1.AIProduct) error {
	e := controller.ExperimentFor(p, p.Spec.Discovery.Experiments[0])
	if err := controllerutil.SetControllerReference(p, e, c.Scheme()); err != nil {
		return err
	}
	if err := apply.Stamp(e); err != nil {
		return err
	}
	// With the operator running (the probes), the product may have created
	// it first, and the Experiment's controller may write it meanwhile.
	if err := c.Create(ctx, e); client.IgnoreAlreadyExists(err) != nil {
		return err
	}
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := c.Get(ctx, client.ObjectKeyFromObject(e), e); err != nil {
			return err
		}
		// Whole, conditions included, as the Experiment's controller
		// leaves a finished one: anything less, it would complete with a
		// write of its own that no real product's experiment costs here.
		now := metav1.Now()
		const msg = "stands in for a finished Discovery"
		e.Status = lifecyclev1alpha1.ExperimentStatus{ObservedGeneration: e.Generation, Phase: lifecyclev1alpha1.ExperimentFinished,
			Verdict: lifecyclev1alpha1.VerdictSucceeded, Message: msg, StartedAt: &now, FinishedAt: &now,
			Conditions: []metav1.Condition{{Type: lifecyclev1alpha1.ConditionReady, Status: metav1.ConditionTrue,
				Reason: lifecyclev1alpha1.ReasonExperimentFinished, Message: string(lifecyclev1alpha1.VerdictSucceeded) + ": " + msg,
				ObservedGeneration: e.Generation, LastTransitionTime: now}}}
		return c.Status().Update(ctx, e)
	})
}

// parallel runs do(i) for i in [0, n) on workers goroutines and returns the
// first error.
func parallel(ctx context.Context, n, workers int, do func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var next atomic.Int64
	var once sync.Once
	var first error
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n || ctx.Err() != nil {
					return
				}
				if err := do(ctx, i); err != nil {
					once.Do(func() { first = err; cancel() })
					return
				}
			}
		}()
	}
	wg.Wait()
	return first
}

// seed applies the fleet: n products with their Discovery stand-in and
// three versions each.
func seed(ctx context.Context, c client.Client, ns string, n int, interval time.Duration, labelled, fleetQueries bool, workers int) error {
	return parallel(ctx, n, workers, func(ctx context.Context, i int) error {
		name := productName(i)
		p := fleetProduct(ns, name, interval, fleetQueries)
		if err := c.Create(ctx, p); err != nil {
			return fmt.Errorf("creating product %s: %w", name, err)
		}
		if err := discoveryDone(ctx, c, p); err != nil {
			return fmt.Errorf("recording Discovery of %s: %w", name, err)
		}
		for v := range versionsPerProduct {
			if err := c.Create(ctx, fleetVersion(ns, name, v, labelled)); err != nil {
				return fmt.Errorf("creating version %d of %s: %w", v, name, err)
			}
		}
		return nil
	})
}

func productName(i int) string { return fmt.Sprintf("product-%05d", i) }
