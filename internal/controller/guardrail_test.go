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
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	lifecyclev1alpha1 "github.com/aipm-io/aipm-operator/api/v1alpha1"
)

var _ = Describe("Business objectives as rollout guardrails", func() {
	conversion := func(p *lifecyclev1alpha1.AIProduct, version string) string {
		return fmt.Sprintf(`conversion{product=%q, version=%q}`, p.Name, version)
	}
	guarded := func(objective string) *lifecyclev1alpha1.AIProduct {
		p := deliveryProduct("v1", lifecyclev1alpha1.RolloutStep{SetWeight: ptr.To[int32](50)},
			lifecyclev1alpha1.RolloutStep{Analysis: &lifecyclev1alpha1.AnalysisSpec{
				Objectives: []string{objective}, MaxObjectiveDegradation: "0.1",
				Interval: metav1.Duration{Duration: time.Second}, Count: 2,
			}})
		p.Spec.Strategy.Objectives = append(p.Spec.Strategy.Objectives, lifecyclev1alpha1.Objective{
			Name: "conversion", Query: "conversion{product=$product, version=$version}", Target: "0.05", Direction: lifecyclev1alpha1.AtLeast})
		return p
	}

	It("aborts a canary that does 20% worse than stable on a business objective, naming it", func() {
		p := guarded("conversion")
		enterDelivery(p)
		productionV1(p)
		fakeProm.Set(conversion(p, "v1"), 0.1)
		fakeProm.Set(conversion(p, "v2"), 0.08)
		v2 := eligibleVersion(p, "v2", "2.0.0")
		pin(p, "v2")
		Eventually(func(g Gomega) {
			deployments(g, p)
			got := fetch(g, p)
			g.Expect(got.Status.Rollout).NotTo(BeNil())
			g.Expect(got.Status.Rollout.Phase).To(Equal(lifecyclev1alpha1.RolloutAborted))
			g.Expect(got.Status.ProductionVersion).To(Equal("v1"))
			g.Expect(got.Status.Rollout.Analysis).To(ContainElement(And(
				HaveField("Name", "objective/conversion"), HaveField("Value", lifecyclev1alpha1.Decimal("0.2")),
				HaveField("Result", lifecyclev1alpha1.ResultMissed))))
			g.Expect(fetchMV(g, v2).Status.StageReason).To(Equal(
				"v2 rolled back: guardrail on objective conversion: the canary did 20% worse than the stable version, at most 10% allowed"))
		}).Should(Succeed())
	})

	It("promotes a canary within the allowed degradation", func() {
		p := guarded("conversion")
		enterDelivery(p)
		productionV1(p)
		fakeProm.Set(conversion(p, "v1"), 0.1)
		fakeProm.Set(conversion(p, "v2"), 0.095)
		eligibleVersion(p, "v2", "2.0.0")
		pin(p, "v2")
		Eventually(func(g Gomega) {
			deployments(g, p)
			got := fetch(g, p)
			g.Expect(got.Status.ProductionVersion).To(Equal("v2"))
			g.Expect(got.Status.Rollout.Phase).To(Equal(lifecyclev1alpha1.RolloutSucceeded))
		}).Should(Succeed())
		Expect(fakeProm.Count(conversion(p, "v1"))).To(BeNumerically(">=", 2), "the stable version was measured on each measurement")
	})

	It("pauses, saying why, on an objective that cannot tell the canary from the stable version", func() {
		p := guarded("ctr")
		enterDelivery(p)
		productionV1(p)
		eligibleVersion(p, "v2", "2.0.0")
		pin(p, "v2")
		Eventually(func(g Gomega) {
			deployments(g, p)
			got := fetch(g, p)
			g.Expect(got.Status.Rollout).NotTo(BeNil())
			g.Expect(got.Status.Rollout.Phase).To(Equal(lifecyclev1alpha1.RolloutInconclusive))
			g.Expect(got.Status.Rollout.Message).To(ContainSubstring(
				"objective ctr cannot guard a rollout: its query must use $version, without matchLabels, to tell the canary from the stable version"))
			g.Expect(got.Status.ProductionVersion).To(Equal("v1"))
		}).Should(Succeed())
	})
})

var _ = Describe("The post-promotion watch", func() {
	It("rolls a promoted version back when a guarded objective breaks within the window, and rejects it naming the objective", func() {
		p := deliveryProduct("v1", lifecyclev1alpha1.RolloutStep{SetWeight: ptr.To[int32](100)})
		p.Spec.Strategy.Objectives = append(p.Spec.Strategy.Objectives, lifecyclev1alpha1.Objective{
			Name: "conversion", Query: "conversion{product=$product, version=$version}", Target: "0.05",
			Direction: lifecyclev1alpha1.AtLeast, BreachFor: &metav1.Duration{Duration: 2 * time.Second}})
		p.Spec.Delivery.Rollout.PostPromotion = &lifecyclev1alpha1.PostPromotionSpec{
			Window: metav1.Duration{Duration: time.Hour}, Objectives: []string{"conversion"}}
		conversion := func(version string) string { return fmt.Sprintf(`conversion{product=%q, version=%q}`, p.Name, version) }
		fakeProm.Set(conversion("v1"), 0.1)
		fakeProm.Set(conversion("v2"), 0.1)
		enterDelivery(p)
		productionV1(p)
		v2 := eligibleVersion(p, "v2", "2.0.0")
		pin(p, "v2")
		Eventually(func(g Gomega) {
			deployments(g, p)
			got := fetch(g, p)
			g.Expect(got.Status.ProductionVersion).To(Equal("v2"))
			g.Expect(got.Status.Rollout.Phase).To(Equal(lifecyclev1alpha1.RolloutSucceeded))
		}).Should(Succeed())

		By("the business objective breaking after the promotion")
		fakeProm.Set(conversion("v2"), 0.01)
		Eventually(func(g Gomega) {
			ds := deployments(g, p)
			got := fetch(g, p)
			g.Expect(got.Status.Rollout.Phase).To(Equal(lifecyclev1alpha1.RolloutAborted))
			g.Expect(got.Status.Rollout.Reason).To(Equal("PostPromotionRollback"))
			g.Expect(got.Status.ProductionVersion).To(Equal("v1"))
			g.Expect(ds).NotTo(HaveKey(p.Name + "-v2"))
			g.Expect(ds).To(HaveKey(p.Name + "-v1"))
			g.Expect(*ds[p.Name+"-v1"].Spec.Replicas).To(Equal(int32(4)))
			mv := fetchMV(g, v2)
			g.Expect(mv.Status.Stage).To(Equal(lifecyclev1alpha1.StageRejected))
			g.Expect(mv.Status.StageReason).To(MatchRegexp(
				`^v2 rolled back: objective conversion is 0.01 against a target of at least 0.05, missed for \d+s within the post-promotion window$`))
		}, 60*time.Second).Should(Succeed())
		Eventually(func() []string { return eventReasons(p) }).Should(ContainElement("PostPromotionRollback"))
	})
})

var _ = Describe("Objectives that retrain and gate", func() {
	It("starts exactly one retraining run (trigger Objective) for a sustained breach, and none for the same breach again", func() {
		p := retrainingProduct()
		p.Spec.Delivery.Monitoring = nil
		p.Spec.Delivery.Retraining.OnDrift = false
		p.Spec.Delivery.Retraining.OnObjectiveBreach = []string{"conversion"}
		p.Spec.Delivery.Retraining.Cooldown = metav1.Duration{Duration: time.Hour}
		p.Spec.Strategy.Objectives = append(p.Spec.Strategy.Objectives, lifecyclev1alpha1.Objective{
			Name: "conversion", Query: "conversion{product=$product, version=$version}", Target: "0.05",
			Direction: lifecyclev1alpha1.AtLeast, BreachFor: &metav1.Duration{Duration: 3 * time.Second}})
		conversion := fmt.Sprintf(`conversion{product=%q, version="v1"}`, p.Name)
		fakeProm.Set(conversion, 0.1)
		enterDelivery(p)
		productionV1(p)

		By("the objective missed, not yet for breachFor: nothing")
		fakeProm.Set(conversion, 0.02)
		Eventually(func(g Gomega) {
			got := fetch(g, p)
			g.Expect(got.Status.Objectives).To(ContainElement(And(HaveField("Name", "conversion"), HaveField("Result", lifecyclev1alpha1.ResultMissed))))
		}).Should(Succeed())
		Expect(productJobs(Default, p)).To(BeEmpty())

		By("the miss lasting breachFor: one run")
		Eventually(func(g Gomega) {
			jobs := productJobs(g, p)
			g.Expect(jobs).To(HaveLen(1))
			got := fetch(g, p)
			g.Expect(got.Status.Retraining.LastRun.Trigger).To(Equal(lifecyclev1alpha1.TriggerObjective))
			g.Expect(got.Status.Retraining.LastObjectiveEpisode).NotTo(BeNil())
			run := runOf(p, jobs[0].Name)
			g.Expect(run.Spec.Trigger.Reason).To(HavePrefix("sustained objective breach: conversion at 0.02 (target at least 0.05) since "))
		}, 30*time.Second).Should(Succeed())
		Consistently(func(g Gomega) { g.Expect(productJobs(g, p)).To(HaveLen(1)) }, 8*time.Second, time.Second).Should(Succeed())
	})

	It("keeps a product out of Delivery while a required objective cannot be measured, as a wait rather than a stall", func() {
		p := newProduct(lifecyclev1alpha1.PhaseDelivery)
		p.Spec.Strategy.Objectives[0].Required = true
		p.Spec.Delivery = deliveryProduct("v1").Spec.Delivery
		Expect(k8sClient.Create(ctx, p)).To(Succeed())
		DeferCleanup(func() { _ = k8sClient.Delete(ctx, p) })
		finishExperiment(p, "shadow", lifecyclev1alpha1.VerdictSucceeded, "")
		Eventually(func(g Gomega) {
			got := fetch(g, p)
			g.Expect(got.Status.Phase).To(Equal(lifecyclev1alpha1.PhaseDiscovery))
			gate := condition(got.Status.Conditions, lifecyclev1alpha1.ConditionDiscoveryGate)
			g.Expect(gate.Reason).To(Equal("ObjectiveUnmeasured"))
			g.Expect(gate.Message).To(ContainSubstring(`required objective "ctr" is Unknown`))
			g.Expect(condition(got.Status.Conditions, lifecyclev1alpha1.ConditionStalled).Status).NotTo(Equal(metav1.ConditionTrue))
		}).Should(Succeed())
		fakeProm.Set(fmt.Sprintf(`ctr{product=%q}`, p.Name), 0.2)
		Eventually(func(g Gomega) { g.Expect(fetch(g, p).Status.Phase).To(Equal(lifecyclev1alpha1.PhaseDelivery)) }).Should(Succeed())
	})
})
